package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// The stand-in model's answers (respond): rules, not a language model.
// It knows one tool, the agent's current_time, and the cities below.

// timeTool is the tool the stand-in calls, and the argument it fills.
const (
	timeTool    = "current_time"
	timeToolArg = "zone"
)

// cityZones maps the cities the stand-in recognizes to IANA time zones.
var cityZones = map[string]string{
	"tokyo": "Asia/Tokyo", "paris": "Europe/Paris", "new york": "America/New_York",
	"london": "Europe/London", "berlin": "Europe/Berlin", "madrid": "Europe/Madrid",
	"rome": "Europe/Rome", "amsterdam": "Europe/Amsterdam", "moscow": "Europe/Moscow",
	"cairo": "Africa/Cairo", "lagos": "Africa/Lagos", "dubai": "Asia/Dubai",
	"delhi": "Asia/Kolkata", "mumbai": "Asia/Kolkata", "singapore": "Asia/Singapore",
	"hong kong": "Asia/Hong_Kong", "beijing": "Asia/Shanghai", "shanghai": "Asia/Shanghai",
	"seoul": "Asia/Seoul", "sydney": "Australia/Sydney", "toronto": "America/Toronto",
	"chicago": "America/Chicago", "los angeles": "America/Los_Angeles",
	"san francisco": "America/Los_Angeles", "mexico city": "America/Mexico_City",
	"sao paulo": "America/Sao_Paulo",
}

// cityNames are cityZones' keys, longest first, so "new york" is found
// before a shorter name inside it could be.
var cityNames = func() []string {
	var names []string
	for c := range cityZones {
		names = append(names, c)
	}
	slices.SortFunc(names, func(a, b string) int {
		if d := len(b) - len(a); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	return names
}()

var (
	nonWord    = regexp.MustCompile(`[^a-z]+`)
	asksTimeRE = regexp.MustCompile(`\b(time|clock|hour)\b`)
)

// findCity returns the city named in text and its zone.
func findCity(text string) (city, zone string, ok bool) {
	t := " " + strings.TrimSpace(nonWord.ReplaceAllString(strings.ToLower(text), " ")) + " "
	for _, c := range cityNames {
		if strings.Contains(t, " "+c+" ") {
			return c, cityZones[c], true
		}
	}
	return "", "", false
}

// standInReply is what the stand-in answers one request with: text, or a
// call of the time tool.
type standInReply struct {
	Text string
	Call *wireToolCall
}

// respond answers a request as the demo's model would, by rule:
//   - the user asks the time in a known city and current_time is offered
//     (and tool_choice allows it): call it for the city's zone;
//   - the last message is current_time's output: say it, naming the city;
//   - otherwise: echo what was heard, and say what it can do.
func respond(r *wireRequest) standInReply {
	last := r.Messages[len(r.Messages)-1]
	switch last.Role {
	case "tool":
		call, ok := findCall(r.Messages, last.ToolCallID)
		if !ok || call.Name != timeTool {
			return standInReply{Text: "The tool answered: " + last.Content}
		}
		var args map[string]string
		_ = json.Unmarshal([]byte(call.Arguments), &args)
		if city := askedCity(r.Messages, args[timeToolArg]); city != "" {
			return standInReply{Text: fmt.Sprintf("The time in %s is %s.", titleCase(city), strings.TrimSuffix(last.Content, "."))}
		}
		return standInReply{Text: "The clock says " + strings.TrimSuffix(last.Content, ".") + "."}
	case "user":
		text := strings.TrimSpace(last.Content)
		city, zone, ok := findCity(text)
		asks := asksTimeRE.MatchString(strings.ToLower(text))
		if ok && asks && slices.Contains(r.Tools, timeTool) && (r.ToolChoice == "" || r.ToolChoice == "auto" || r.ToolChoice == "required" || r.ToolChoice == timeTool) {
			args, _ := json.Marshal(map[string]string{timeToolArg: zone})
			return standInReply{Call: &wireToolCall{Name: timeTool, Arguments: string(args)}}
		}
		if ok && asks {
			return standInReply{Text: fmt.Sprintf("I cannot look up the time in %s without my clock tool.", titleCase(city))}
		}
		if text == "" {
			return standInReply{Text: "I did not catch that."}
		}
		return standInReply{Text: "I heard you say: " + strings.TrimRight(text, ".!?") + ". Ask me the time in a city, such as Tokyo."}
	}
	return standInReply{Text: "Hello! I am the local stand-in model."}
}

// findCall returns the assistant's tool call with id.
func findCall(msgs []wireMessage, id string) (wireToolCall, bool) {
	for i := len(msgs) - 1; i >= 0; i-- {
		for _, c := range msgs[i].ToolCalls {
			if c.ID == id {
				return c, true
			}
		}
	}
	return wireToolCall{}, false
}

// askedCity is the city in zone that the last user message named, else
// the first city in zone (in cityNames order), else "".
func askedCity(msgs []wireMessage, zone string) string {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == "user" {
			if c, z, ok := findCity(msgs[i].Content); ok && z == zone {
				return c
			}
			break
		}
	}
	for _, c := range cityNames {
		if cityZones[c] == zone {
			return c
		}
	}
	return ""
}

func titleCase(s string) string {
	words := strings.Fields(s)
	for i, w := range words {
		words[i] = strings.ToUpper(w[:1]) + w[1:]
	}
	return strings.Join(words, " ")
}
