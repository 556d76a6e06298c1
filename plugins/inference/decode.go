package inference

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/livekit-go/agents/session"
)

// The wire shape of a chat.completion.chunk, reduced to what a chunk
// carries. go-openai's typed chunk drops several of these (audio,
// extra_content, cached tokens, service_tier, verbatim logprobs). Field
// types are chosen so that a typical content chunk allocates little: the
// repeated id and service tier are reused, null raw values stay nil, and
// delta is a value (a null delta decodes as an empty one).
type (
	sseChunk struct {
		ID          reusedString `json:"id"`
		Choices     []sseChoice  `json:"choices"`
		Usage       *sseUsage    `json:"usage"`
		ServiceTier reusedString `json:"service_tier"`
		Error       rawJSON      `json:"error"`
	}
	sseChoice struct {
		Index        int      `json:"index"`
		Delta        sseDelta `json:"delta"`
		Logprobs     rawJSON  `json:"logprobs"`
		FinishReason string   `json:"finish_reason"`
	}
	sseDelta struct {
		Content      deltaText     `json:"content"`
		ToolCalls    []sseToolCall `json:"tool_calls"`
		Audio        *sseAudio     `json:"audio"`
		ExtraContent rawJSON       `json:"extra_content"`
	}
	sseToolCall struct {
		Index    *int   `json:"index"`
		ID       string `json:"id"`
		Function struct {
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"function"`
		ExtraContent rawJSON `json:"extra_content"`
	}
	sseAudio struct {
		ID         string `json:"id"`
		Data       string `json:"data"`
		Transcript string `json:"transcript"`
		ExpiresAt  int64  `json:"expires_at"`
	}
	sseUsage struct {
		PromptTokens        tokenCount `json:"prompt_tokens"`
		CompletionTokens    tokenCount `json:"completion_tokens"`
		TotalTokens         tokenCount `json:"total_tokens"`
		PromptTokensDetails *struct {
			CachedTokens tokenCount `json:"cached_tokens"`
		} `json:"prompt_tokens_details"`
	}
)

// deltaText is a delta's content: a string, or a list of content parts
// (some providers stream [{"type":"text","text":...}]), whose texts are
// joined as the Python and Node clients flatten them. A value of another
// type carries no text, as there.
type deltaText string

func (t *deltaText) UnmarshalJSON(b []byte) error {
	switch b[0] { // encoding/json never passes an empty value
	case 'n':
		return nil // null, as encoding/json leaves a string
	case '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = deltaText(s)
	case '[':
		var parts []json.RawMessage
		if err := json.Unmarshal(b, &parts); err != nil {
			return err
		}
		var sb strings.Builder
		for _, p := range parts {
			var text string
			if json.Unmarshal(p, &text) != nil {
				var obj struct {
					Text *string `json:"text"`
				}
				if json.Unmarshal(p, &obj) != nil || obj.Text == nil {
					continue
				}
				text = *obj.Text
			}
			sb.WriteString(text)
		}
		*t = deltaText(sb.String())
	default:
		*t = ""
	}
	return nil
}

// tokenCount is a token count of the usage. Some providers write 100.0, or
// a string; a metrics field never fails a stream, so anything that is not a
// finite, non-negative number counts as 0.
type tokenCount int

func (n *tokenCount) UnmarshalJSON(b []byte) error {
	s := string(bytes.Trim(b, `"`))
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || f < 0 {
		*n = 0
		return nil
	}
	*n = tokenCount(math.Round(min(f, math.MaxInt32)))
	return nil
}

// reset empties w for the next line, keeping the backing array of its
// choices (encoding/json decodes into slice elements in place without
// zeroing them, so they are cleared) and the id and tier to be reused (see
// reusedString).
func (w *sseChunk) reset() {
	choices := w.Choices[:cap(w.Choices)]
	clear(choices)
	*w = sseChunk{ID: w.ID, ServiceTier: w.ServiceTier, Choices: choices[:0]}
}

// rawJSON is a json.RawMessage that stays nil for null, so absent and null
// values cost no copy.
type rawJSON json.RawMessage

func (r *rawJSON) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*r = nil
		return nil
	}
	*r = append((*r)[:0:0], b...)
	return nil
}

// reusedString decodes a JSON string, keeping the string it held before when
// the text is the same: every chunk repeats the completion id and service
// tier, and this saves a string per chunk.
type reusedString string

func (r *reusedString) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' && bytes.IndexByte(b, '\\') < 0 {
		if string(b[1:len(b)-1]) != string(*r) { // compared without allocating
			*r = reusedString(b[1 : len(b)-1])
		}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*r = reusedString(s)
	return nil
}

// decoder turns the data lines of one response into chat chunks: content in
// order with <think> sections removed, tool calls accumulated and handed out
// whole, usage merged and handed out once at the end.
type decoder struct {
	// maxChoices is how many choices the request asked for (n); 0 means
	// the API's default, 1. A choice index only names a choice: it never
	// sizes memory, and more distinct choices than asked for is an error.
	maxChoices int
	// tags are the model's think markers; zero means <think>...</think>.
	tags thinkTags

	w          sseChunk // reused between lines; see decodeLine
	id         string
	calls      []pendingCall // in arrival order
	choices    []choiceState // one per choice index seen, in arrival order
	usage      *session.Usage
	tier       string
	sawContent bool // a chunk with content or tool calls was produced
	done       bool // [DONE] or end of stream was handled
}

// choiceState is what the decoder keeps for one choice.
type choiceState struct {
	index int
	think thinkFilter
}

// newDecoder returns the decoder of a response to a request for n choices
// (0: the default, 1) from model.
func newDecoder(model string, n int) decoder {
	return decoder{maxChoices: n, tags: thinkTagsFor(model)}
}

// pendingCall is a tool call whose deltas are still arriving.
type pendingCall struct {
	choice int
	index  int
	id     string
	name   string
	args   []byte
	extra  json.RawMessage
}

// maxLineEcho is how much of a bad line an error quotes.
const maxLineEcho = 120

// decodeLine decodes one SSE data payload (go-openai has removed "data: ")
// and appends the chunks it yields to out. Errors name what was wrong and
// quote the start of the line.
func (d *decoder) decodeLine(line []byte, out *[]session.ChatChunk) error {
	line = bytes.TrimSpace(line)
	if len(line) == 0 {
		return nil
	}
	if string(line) == "[DONE]" {
		d.flush(out)
		return nil
	}
	w := &d.w
	w.reset()
	if !fastParse(line, w) {
		w.reset()
		if err := json.Unmarshal(line, w); err != nil {
			return fmt.Errorf("inference: malformed stream chunk (%v): %q", err, echo(line))
		}
	}
	if len(w.Error) > 0 {
		return streamError(line)
	}
	d.id = string(w.ID)
	if w.ServiceTier != "" {
		d.tier = string(w.ServiceTier)
	}
	for i := range w.Choices {
		if err := d.choice(&w.Choices[i], out); err != nil {
			return err
		}
	}
	if u := w.Usage; u != nil {
		// OpenAI sends usage once. Other providers repeat it with running
		// totals, or send the prompt and the completion parts apart; the
		// largest value of each field is right in all three cases, where a
		// sum would count running totals many times over.
		if d.usage == nil {
			d.usage = &session.Usage{}
		}
		d.usage.PromptTokens = max(d.usage.PromptTokens, int(u.PromptTokens))
		d.usage.CompletionTokens = max(d.usage.CompletionTokens, int(u.CompletionTokens))
		d.usage.TotalTokens = max(d.usage.TotalTokens, int(u.TotalTokens), d.usage.PromptTokens+d.usage.CompletionTokens)
		if u.PromptTokensDetails != nil {
			d.usage.CachedPromptTokens = max(d.usage.CachedPromptTokens, int(u.PromptTokensDetails.CachedTokens))
		}
	}
	return nil
}

func (d *decoder) choice(c *sseChoice, out *[]session.ChatChunk) error {
	if c.Index < 0 {
		return fmt.Errorf("inference: malformed stream chunk: choice index %d", c.Index)
	}
	st, err := d.stateOf(c.Index)
	if err != nil {
		return err
	}
	ch := session.ChatChunk{RequestID: d.id, Index: d.outIndex(c.Index)}
	if c.Logprobs != nil {
		ch.Logprobs = json.RawMessage(c.Logprobs)
	}
	dl := &c.Delta
	if dl.Content != "" {
		ch.Content = st.think.push(string(dl.Content))
	}
	for i := range dl.ToolCalls {
		if err := d.toolDelta(c.Index, &dl.ToolCalls[i], &ch); err != nil {
			return err
		}
	}
	if a := dl.Audio; a != nil {
		ch.Audio = &session.AudioDelta{ID: a.ID, Data: a.Data, Transcript: a.Transcript, ExpiresAt: a.ExpiresAt}
	}
	if dl.ExtraContent != nil {
		ch.ExtraContent = json.RawMessage(dl.ExtraContent)
	}
	if c.FinishReason != "" {
		ch.FinishReason = c.FinishReason
		d.flushChoice(c.Index, &ch)
	}
	d.emit(ch, out)
	return nil
}

// toolDelta adds one tool-call delta to the call it continues. A delta with
// a new id at an index already in use starts a new call (some providers send
// every call at index 0); the call it replaces is complete and goes out on
// ch.
func (d *decoder) toolDelta(choice int, tc *sseToolCall, ch *session.ChatChunk) error {
	idx := -1
	if tc.Index != nil {
		if *tc.Index < 0 {
			return fmt.Errorf("inference: malformed stream chunk: tool call index %d", *tc.Index)
		}
		idx = *tc.Index
	}
	i := d.findCall(choice, idx)
	if i >= 0 && tc.ID != "" && d.calls[i].id != "" && tc.ID != d.calls[i].id {
		d.complete(i, ch)
		i = -1
	}
	if i < 0 && idx < 0 {
		// No index: continue the last call when no id is given, else start
		// a new one after the others.
		if last := d.lastCall(choice); last >= 0 && tc.ID == "" {
			i = last
		} else {
			idx = d.nextIndex(choice)
		}
	}
	if i < 0 {
		d.calls = append(d.calls, pendingCall{choice: choice, index: idx})
		i = len(d.calls) - 1
	}
	p := &d.calls[i]
	if tc.ID != "" {
		p.id = tc.ID
	}
	if tc.Function.Name != "" && p.name == "" {
		p.name = tc.Function.Name
	}
	p.args = append(p.args, tc.Function.Arguments...)
	// The first extra_content that says something is the call's (Python
	// keeps the one on the delta that names the call): a later empty one,
	// which some providers repeat, must not wipe a thought signature.
	if tc.ExtraContent != nil && (p.extra == nil || isEmptyJSON(p.extra)) {
		p.extra = json.RawMessage(tc.ExtraContent)
	}
	return nil
}

// findCall returns the position in d.calls of the pending call at (choice,
// idx), or -1.
func (d *decoder) findCall(choice, idx int) int {
	if idx < 0 {
		return -1
	}
	for i := range d.calls {
		if d.calls[i].choice == choice && d.calls[i].index == idx {
			return i
		}
	}
	return -1
}

func (d *decoder) lastCall(choice int) int {
	for i := len(d.calls) - 1; i >= 0; i-- {
		if d.calls[i].choice == choice {
			return i
		}
	}
	return -1
}

func (d *decoder) nextIndex(choice int) int {
	n := 0
	for i := range d.calls {
		if d.calls[i].choice == choice && d.calls[i].index >= n {
			n = d.calls[i].index + 1
		}
	}
	return n
}

// complete moves pending call i onto ch as a whole FunctionCall.
func (d *decoder) complete(i int, ch *session.ChatChunk) {
	d.calls[i].appendTo(ch)
	d.calls = slices.Delete(d.calls, i, i+1)
}

// appendTo adds the call to ch. FunctionCall.ID is left empty: the session
// gives chat items their ids when it adds them (ChatContext.Add). The
// call's own extra_content (Gemini's thought signature) stays on it, for
// the session to keep in history and the next request to send back.
func (p *pendingCall) appendTo(ch *session.ChatChunk) {
	ch.ToolCalls = append(ch.ToolCalls, session.FunctionCall{
		CallID: p.id, Name: p.name, Arguments: string(p.args), ExtraContent: p.extra,
	})
}

// flushChoice moves every pending call of a choice onto ch, in index order,
// and releases what its think filter held back.
func (d *decoder) flushChoice(choice int, ch *session.ChatChunk) {
	slices.SortStableFunc(d.calls, func(a, b pendingCall) int {
		if a.choice != b.choice {
			return a.choice - b.choice
		}
		return a.index - b.index
	})
	kept := d.calls[:0]
	for i := range d.calls {
		p := &d.calls[i]
		if p.choice != choice {
			kept = append(kept, *p)
			continue
		}
		p.appendTo(ch)
	}
	clear(d.calls[len(kept):])
	d.calls = kept
	if st := d.findState(choice); st != nil {
		ch.Content += st.think.flush()
	}
}

// flush ends the response ([DONE] or end of stream): every call still
// pending goes out, and the usage, once, on the last chunk.
func (d *decoder) flush(out *[]session.ChatChunk) {
	if d.done {
		return
	}
	d.done = true
	choices := map[int]bool{}
	for _, p := range d.calls {
		choices[p.choice] = true
	}
	for i := range d.choices {
		if d.choices[i].think.holding() {
			choices[d.choices[i].index] = true
		}
	}
	for _, c := range slices.Sorted(maps.Keys(choices)) {
		ch := session.ChatChunk{RequestID: d.id, Index: d.outIndex(c)}
		d.flushChoice(c, &ch)
		d.emit(ch, out)
	}
	if d.usage != nil {
		d.usage.ServiceTier = d.tier
		u := *d.usage
		*out = append(*out, session.ChatChunk{RequestID: d.id, Usage: &u})
	}
}

// emit appends ch unless it carries nothing: role-only and empty deltas are
// not worth a Recv, and holding them back keeps "nothing reached the
// caller" (and so retries) true until real content arrives.
func (d *decoder) emit(ch session.ChatChunk, out *[]session.ChatChunk) {
	// Logprobs alone do not make a chunk: they describe content, and the
	// role-only first chunk carries an empty set.
	if ch.Content == "" && len(ch.ToolCalls) == 0 && ch.FinishReason == "" && ch.Usage == nil &&
		ch.Audio == nil && ch.ExtraContent == nil {
		return
	}
	if ch.Content != "" || len(ch.ToolCalls) > 0 || ch.Audio != nil {
		d.sawContent = true
	}
	*out = append(*out, ch)
}

// stateOf returns the state of a choice, adding it when it is new and the
// request asked for that many choices.
func (d *decoder) stateOf(index int) (*choiceState, error) {
	if st := d.findState(index); st != nil {
		return st, nil
	}
	limit := max(d.maxChoices, 1)
	if len(d.choices) >= limit {
		return nil, fmt.Errorf("inference: malformed stream chunk: choice index %d: more choices than the %d asked for", index, limit)
	}
	d.choices = append(d.choices, choiceState{index: index, think: d.tags.filter()})
	return &d.choices[len(d.choices)-1], nil
}

// outIndex is the index a choice's chunks carry: the provider's when
// several choices were asked for, else 0. The one choice of a request is
// choice 0 whatever index the provider gives it, as the references (which
// ignore the index) and the session (which reads choice 0) take it.
func (d *decoder) outIndex(index int) int {
	if d.maxChoices <= 1 {
		return 0
	}
	return index
}

func (d *decoder) findState(index int) *choiceState {
	for i := range d.choices {
		if d.choices[i].index == index {
			return &d.choices[i]
		}
	}
	return nil
}

func echo(line []byte) []byte {
	if len(line) > maxLineEcho {
		return line[:maxLineEcho]
	}
	return line
}
