package session_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/livekit-go/agents/session"
	"github.com/livekit-go/agents/session/sessiontest"
)

// Behaviour 1: the user talks over a running tool. The tool is cancelled
// through its context with ErrInterrupted, the next turn is answered at
// once, and the output of a tool that already finished stays in history.
func TestBargeInDuringToolCancelsIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		llm := sessiontest.NewLLM(
			sessiontest.Response{Text: "Let me check.", ToolCalls: []session.FunctionCall{
				{CallID: "1", Name: "quick", Arguments: "{}"},
				{CallID: "2", Name: "slow", Arguments: "{}"},
			}},
			sessiontest.Response{Text: "Okay, cancelled."},
		)
		slowCause := make(chan error, 1)
		a := &session.Agent{Tools: []session.Tool{
			tool("quick", func(context.Context, string) (session.ToolResult, error) {
				return session.ToolResult{Output: "42"}, nil
			}),
			tool("slow", func(ctx context.Context, _ string) (session.ToolResult, error) {
				select {
				case <-ctx.Done():
					slowCause <- context.Cause(ctx)
					return session.ToolResult{}, context.Cause(ctx)
				case <-time.After(28 * time.Second):
					slowCause <- nil
					return session.ToolResult{Output: "slow result"}, nil
				}
			}),
		}}
		r := newVoiceRig(t, llm, a, session.WithFalseInterruptionTimeout(0), session.WithPreemptiveGeneration(false))
		r.say("check my order")
		time.Sleep(500 * time.Millisecond) // commit
		synctest.Wait()
		time.Sleep(1500 * time.Millisecond) // "Let me check." (600 ms) played; the slow tool runs
		r.bargeIn("never mind")
		synctest.Wait()
		if cause := waitOrFail(t, slowCause, time.Second, "the slow tool's context"); !errors.Is(cause, session.ErrInterrupted) {
			t.Errorf("slow tool context cause = %v, want ErrInterrupted", cause)
		}
		time.Sleep(600 * time.Millisecond) // endpointing of "never mind"
		synctest.Wait()
		if n := len(llm.Requests()); n != 2 {
			t.Fatalf("LLM requests 600 ms after the user's next turn ended = %d, want 2: the turn answered at once", n)
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		want := []string{
			"user: check my order",
			"assistant: Let me check.",
			"call quick({})",
			"output quick: 42",
			"user: never mind",
			"assistant: Okay, cancelled.",
		}
		if diff := cmp.Diff(history(r.s), want); diff != "" {
			t.Errorf("history (-got +want):\n%s", diff)
		}
	})
}

// Behaviour 11: when one tool of a step hands off, another tool's output
// still gets its answer (a last step with tool_choice none, by the agent
// that made the calls), and then the new agent takes over.
func TestHandoffKeepsOtherToolsOutputs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		llm := sessiontest.NewLLM(
			sessiontest.Response{ToolCalls: []session.FunctionCall{
				{CallID: "1", Name: "transfer", Arguments: "{}"},
				{CallID: "2", Name: "lookup", Arguments: "{}"},
			}},
			sessiontest.Response{Text: "Your order shipped. Transferring you now."},
		)
		billing := &session.Agent{Instructions: "you are billing"}
		front := &session.Agent{Instructions: "you are the front desk", Tools: []session.Tool{
			tool("transfer", func(context.Context, string) (session.ToolResult, error) {
				return session.ToolResult{Handoff: billing}, nil
			}),
			tool("lookup", func(context.Context, string) (session.ToolResult, error) {
				return session.ToolResult{Output: "order shipped"}, nil
			}),
		}}
		r := newTextRig(t, llm, front)
		r.text.Send("where is my order? and connect me to billing")
		synctest.Wait()
		reqs := llm.Requests()
		if len(reqs) != 2 {
			t.Fatalf("LLM requests = %d, want 2: the lookup output needs an answer", len(reqs))
		}
		if reqs[1].ToolChoice != session.ToolChoiceNone {
			t.Errorf("tool choice of the answer = %+v, want none", reqs[1].ToolChoice)
		}
		if sys := reqs[1].Chat.Items[0].(*session.ChatMessage).Content; sys != "you are the front desk" {
			t.Errorf("the answer's instructions = %q, want the agent that made the calls", sys)
		}
		h := history(r.s)
		if !strings.Contains(strings.Join(h, "\n"), "output lookup: order shipped") || h[len(h)-1] != "assistant: Your order shipped. Transferring you now." {
			t.Errorf("history = %q", h)
		}
		if r.s.Agent() != billing {
			t.Error("agent not handed off after the answer")
		}
	})
}

// Behaviour 15: a tool's error goes to the log, not to the model, unless
// the tool meant it for the model; a panic likewise.
func TestToolErrorsDoNotLeakToTheModel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		llm := sessiontest.NewLLM(
			sessiontest.Response{ToolCalls: []session.FunctionCall{
				{CallID: "1", Name: "orders", Arguments: "{}"},
				{CallID: "2", Name: "fragile", Arguments: "{}"},
			}},
			sessiontest.Response{Text: "Sorry, I could not look that up."},
		)
		a := &session.Agent{Tools: []session.Tool{
			tool("orders", func(context.Context, string) (session.ToolResult, error) {
				return session.ToolResult{}, errors.New(`pq: password authentication failed for user "admin" (host=db.internal port=5432)`)
			}),
			tool("fragile", func(context.Context, string) (session.ToolResult, error) {
				panic("token sk-live-1234 rejected")
			}),
		}}
		r := newTextRig(t, llm, a)
		r.text.Send("my orders?")
		synctest.Wait()
		reqs := llm.Requests()
		if len(reqs) != 2 {
			t.Fatalf("LLM requests = %d, want 2", len(reqs))
		}
		outputs := 0
		for _, it := range reqs[1].Chat.Items {
			o, ok := it.(*session.FunctionCallOutput)
			if !ok {
				continue
			}
			outputs++
			if !o.IsError {
				t.Errorf("output of %s not marked as an error", o.Name)
			}
			for _, secret := range []string{"admin", "db.internal", "5432", "sk-live", "pq:"} {
				if strings.Contains(o.Output, secret) {
					t.Errorf("the model reads %q from %s's output %q", secret, o.Name, o.Output)
				}
			}
		}
		if outputs != 2 {
			t.Errorf("function outputs in the request = %d, want 2", outputs)
		}
	})
}

// A provider's per-call data (Gemini's thought_signature) comes back on the
// same call in the next request, and history keeps it.
func TestToolCallExtraContentStaysInHistory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		extra := json.RawMessage(`{"google":{"thought_signature":"c2lnbmF0dXJl"}}`)
		llm := sessiontest.NewLLM(
			sessiontest.Response{ToolCalls: []session.FunctionCall{{CallID: "1", Name: "lookup", Arguments: "{}", ExtraContent: extra}}},
			sessiontest.Response{Text: "Found it."},
		)
		a := &session.Agent{Tools: []session.Tool{tool("lookup", func(context.Context, string) (session.ToolResult, error) {
			return session.ToolResult{Output: "ok"}, nil
		})}}
		r := newTextRig(t, llm, a)
		r.text.Send("look it up")
		synctest.Wait()
		reqs := llm.Requests()
		if len(reqs) != 2 {
			t.Fatalf("LLM requests = %d, want 2", len(reqs))
		}
		var got []json.RawMessage
		for _, it := range reqs[1].Chat.Items {
			if c, ok := it.(*session.FunctionCall); ok {
				got = append(got, c.ExtraContent)
			}
		}
		for _, it := range r.s.History().Items {
			if c, ok := it.(*session.FunctionCall); ok {
				got = append(got, c.ExtraContent)
			}
		}
		if diff := cmp.Diff(got, []json.RawMessage{extra, extra}); diff != "" {
			t.Errorf("extra content in the next request and history (-got +want):\n%s", diff)
		}
	})
}

// Behaviours 1 and 11 together, as LiveKit Agents has them: a handoff
// whose reply the user interrupts before the step's other tools finished
// does not happen, and the model is told so
// (generation.py _interrupted_tool_output); a handoff already decided
// happens even when the user cuts the answer to the other tools' outputs
// (the new agent was set before that answer).
func TestHandoffAndInterruption(t *testing.T) {
	t.Run("interrupted while another tool runs", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			llm := sessiontest.NewLLM(
				sessiontest.Response{Text: "Transferring.", ToolCalls: []session.FunctionCall{
					{CallID: "1", Name: "transfer", Arguments: "{}"},
					{CallID: "2", Name: "slow", Arguments: "{}"},
				}},
				sessiontest.Response{Text: "Okay."},
			)
			billing := &session.Agent{Instructions: "billing"}
			front := &session.Agent{Instructions: "front desk", Tools: []session.Tool{
				tool("transfer", func(context.Context, string) (session.ToolResult, error) {
					return session.ToolResult{Handoff: billing}, nil
				}),
				tool("slow", func(ctx context.Context, _ string) (session.ToolResult, error) {
					<-ctx.Done()
					return session.ToolResult{}, context.Cause(ctx)
				}),
			}}
			r := newVoiceRig(t, llm, front, session.WithFalseInterruptionTimeout(0), session.WithPreemptiveGeneration(false))
			r.say("billing please")
			time.Sleep(2 * time.Second) // commit; "Transferring." played; slow runs
			r.bargeIn("no wait")
			time.Sleep(5 * time.Second)
			synctest.Wait()
			want := []string{
				"user: billing please",
				"assistant: Transferring.",
				"call transfer({})",
				"output transfer: the agent handoff was interrupted and did not happen [error]",
				"user: no wait",
				"assistant: Okay.",
			}
			if diff := cmp.Diff(history(r.s), want); diff != "" {
				t.Errorf("history (-got +want):\n%s", diff)
			}
			if r.s.Agent() != front {
				t.Error("an interrupted handoff happened")
			}
			reqs := llm.Requests()
			if sys := reqs[len(reqs)-1].Chat.Items[0].(*session.ChatMessage).Content; sys != "front desk" {
				t.Errorf("the next turn was answered by %q, want the front desk", sys)
			}
		})
	})
	t.Run("answer interrupted after the handoff", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			llm := sessiontest.NewLLM(
				sessiontest.Response{ToolCalls: []session.FunctionCall{
					{CallID: "1", Name: "transfer", Arguments: "{}"},
					{CallID: "2", Name: "lookup", Arguments: "{}"},
				}},
				sessiontest.Response{Text: tenWords},
				sessiontest.Response{Text: "Billing here."},
			)
			billing := &session.Agent{Instructions: "billing"}
			front := &session.Agent{Instructions: "front desk", Tools: []session.Tool{
				tool("transfer", func(context.Context, string) (session.ToolResult, error) {
					return session.ToolResult{Handoff: billing}, nil
				}),
				tool("lookup", func(context.Context, string) (session.ToolResult, error) {
					return session.ToolResult{Output: "found"}, nil
				}),
			}}
			r := newVoiceRig(t, llm, front, session.WithFalseInterruptionTimeout(0), session.WithPreemptiveGeneration(false))
			r.say("billing please")
			time.Sleep(1500 * time.Millisecond) // commit; the answer to lookup plays
			r.bargeIn("no wait")
			time.Sleep(5 * time.Second)
			synctest.Wait()
			if r.s.Agent() != billing {
				t.Error("the handoff decided before the interruption did not happen")
			}
			reqs := llm.Requests()
			if sys := reqs[len(reqs)-1].Chat.Items[0].(*session.ChatMessage).Content; sys != "billing" {
				t.Errorf("the next turn was answered by %q, want billing", sys)
			}
			if h := history(r.s); h[len(h)-1] != "assistant: Billing here." {
				t.Errorf("history = %q", h)
			}
		})
	})
}
