package inference

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestSchemaFacts pins what the embedded schema of 2026-08-21 gives, so that
// a change of the reader shows; a new schema changes these on purpose.
func TestSchemaFacts(t *testing.T) {
	f, err := openAIFacts()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{
		"reasoning_effort":    f.reasoningEfforts,
		"service_tier":        f.serviceTiers,
		"verbosity":           f.verbosities,
		"modalities":          f.modalities,
		"search_context_size": f.searchContextSizes,
		"tool_choice modes":   f.toolChoiceModes,
		"tool_choice types":   f.namedToolChoiceTypes,
		"allowed_tools modes": f.allowedToolsModes,
		"temperature":         f.temperature,
		"top_p":               f.topP,
		"frequency_penalty":   f.frequencyPenalty,
		"presence_penalty":    f.presencePenalty,
		"top_logprobs":        f.topLogprobs,
		"n":                   f.n,
		"stop max items":      f.stopMaxItems,
	}
	want := map[string]any{
		"reasoning_effort":    []string{"none", "minimal", "low", "medium", "high", "xhigh", "max"},
		"service_tier":        []string{"auto", "default", "flex", "scale", "priority", "fast"},
		"verbosity":           []string{"low", "medium", "high"},
		"modalities":          []string{"text", "audio"},
		"search_context_size": []string{"low", "medium", "high"},
		"tool_choice modes":   []string{"none", "auto", "required"},
		"tool_choice types":   []string{"function", "custom"},
		"allowed_tools modes": []string{"auto", "required"},
		"temperature":         bounds{0, 2},
		"top_p":               bounds{0, 1},
		"frequency_penalty":   bounds{-2, 2},
		"presence_penalty":    bounds{-2, 2},
		"top_logprobs":        bounds{0, 20},
		"n":                   bounds{1, 128},
		"stop max items":      4,
	}
	if d := cmp.Diff(got, want, cmp.AllowUnexported(bounds{})); d != "" {
		t.Errorf("facts of the embedded schema (-got +want):\n%s", d)
	}
}

// TestSchemaFactsFollowTheDocument: the lists are read from the document,
// not kept beside it, so a newer schema changes what is accepted.
func TestSchemaFactsFollowTheDocument(t *testing.T) {
	edit := func(doc []byte, from, to string) []byte {
		t.Helper()
		out := bytes.Replace(doc, []byte(from), []byte(to), 1)
		if bytes.Equal(out, doc) {
			t.Fatalf("no %q in the document; it changed shape", from)
		}
		return out
	}
	edited := edit(openAPIDocument, "\"priority\",\n       \"fast\"", "\"priority\",\n       \"fast\", \"turbo\"")
	edited = edit(edited, `"maxItems": 4`, `"maxItems": 8`)
	f, err := readSchemaFacts(edited)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(f.serviceTiers, []string{"auto", "default", "flex", "scale", "priority", "fast", "turbo"}); d != "" {
		t.Errorf("service tiers (-got +want):\n%s", d)
	}
	if f.stopMaxItems != 8 {
		t.Errorf("stop max items = %d, want 8", f.stopMaxItems)
	}

	// A document without what validation needs is an error, not a silent
	// empty list that would refuse every value.
	broken := edit(openAPIDocument, `"ServiceTier"`, `"ServiceTierX"`)
	if _, err := readSchemaFacts(broken); err == nil {
		t.Error("readSchemaFacts of a document without ServiceTier: no error")
	}
	if _, err := readSchemaFacts([]byte(`{}`)); err == nil {
		t.Error("readSchemaFacts({}): no error")
	}
}
