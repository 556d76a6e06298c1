package inference

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// stripAll sets every option some rule strips or translates.
func stripAll() ModelOptions {
	return ModelOptions{
		Temperature:      new(0.0),
		TopP:             new(1.0),
		PresencePenalty:  new(0.0),
		FrequencyPenalty: new(0.5),
		LogitBias:        map[string]int{"1": 1},
		Logprobs:         new(false),
		TopLogprobs:      new(2),
		N:                new(1),
		MaxTokens:        new(64),
		Stop:             StopString("\n"),
		ReasoningEffort:  new("low"),
		Seed:             new(int64(0)),
	}
}

func TestApplyModelRules(t *testing.T) {
	reasoningStripped := []string{"temperature", "top_p", "presence_penalty", "frequency_penalty", "logit_bias", "logprobs", "top_logprobs", "n", "max_tokens->max_completion_tokens"}
	reasoningKept := ModelOptions{MaxCompletionTokens: new(64), Stop: StopString("\n"), ReasoningEffort: new("low"), Seed: new(int64(0))}
	xaiStripped := []string{"presence_penalty", "frequency_penalty", "stop"}
	xaiKept := stripAll()
	xaiKept.PresencePenalty, xaiKept.FrequencyPenalty, xaiKept.Stop = nil, nil, nil
	tools52 := reasoningKept
	tools52.ReasoningEffort = nil

	tests := []struct {
		model        string
		hasTools     bool
		in           ModelOptions
		want         ModelOptions
		wantStripped []string
	}{
		// OpenAI reasoning, with and without provider, by prefix.
		{"openai/o1", false, stripAll(), reasoningKept, reasoningStripped},
		{"openai/o1-mini", false, stripAll(), reasoningKept, reasoningStripped},
		{"openai/o3-mini", false, stripAll(), reasoningKept, reasoningStripped},
		{"o3", false, stripAll(), reasoningKept, reasoningStripped},
		{"openai/o4-mini-2025-04-16", false, stripAll(), reasoningKept, reasoningStripped},
		{"openai/gpt-5", false, stripAll(), reasoningKept, reasoningStripped},
		{"gpt-5-mini", false, stripAll(), reasoningKept, reasoningStripped},
		{"azure/gpt-5-nano", true, stripAll(), reasoningKept, reasoningStripped},
		{"OpenAI/GPT-5.1", false, stripAll(), reasoningKept, reasoningStripped},
		// gpt-5.2 / gpt-5.4: reasoning, and reasoning_effort only without tools.
		{"openai/gpt-5.2", false, stripAll(), reasoningKept, reasoningStripped},
		{"openai/gpt-5.2", true, stripAll(), tools52, append(reasoningStripped[:len(reasoningStripped):len(reasoningStripped)], "reasoning_effort")},
		{"gpt-5.2-chat-latest", true, stripAll(), tools52, append(reasoningStripped[:len(reasoningStripped):len(reasoningStripped)], "reasoning_effort")},
		{"openai/gpt-5.4-mini", true, stripAll(), tools52, append(reasoningStripped[:len(reasoningStripped):len(reasoningStripped)], "reasoning_effort")},
		{"openai/gpt-5.4-mini", false, stripAll(), reasoningKept, reasoningStripped},
		{"openai/gpt-5.1", true, stripAll(), reasoningKept, reasoningStripped},
		// Both max options: max_completion_tokens wins, max_tokens is dropped.
		{"openai/o3", false, ModelOptions{MaxTokens: new(10), MaxCompletionTokens: new(20)}, ModelOptions{MaxCompletionTokens: new(20)}, []string{"max_tokens"}},
		{"openai/o3", false, ModelOptions{MaxCompletionTokens: new(20)}, ModelOptions{MaxCompletionTokens: new(20)}, nil},
		// xAI reasoning.
		{"xai/grok-4-1-fast-reasoning", false, stripAll(), xaiKept, xaiStripped},
		{"grok-4.20-0309-reasoning", true, stripAll(), xaiKept, xaiStripped},
		{"xai/grok-4.20-multi-agent-0309", false, stripAll(), xaiKept, xaiStripped},
		{"xai/grok-4-1-fast-non-reasoning", false, stripAll(), stripAll(), nil},
		{"xai/grok-4.20-0309-non-reasoning", false, stripAll(), stripAll(), nil},
		// Everything else keeps its options.
		{"openai/gpt-4.1-mini", true, stripAll(), stripAll(), nil},
		{"openai/gpt-4o", false, stripAll(), stripAll(), nil},
		{"google/gemini-2.5-flash", false, stripAll(), stripAll(), nil},
		{"deepseek-ai/deepseek-v3", false, stripAll(), stripAll(), nil},
		{"gpt-4.1", false, ModelOptions{}, ModelOptions{}, nil},
		{"openai/o3", false, ModelOptions{}, ModelOptions{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			o := tt.in
			got := applyModelRules(tt.model, tt.hasTools, &o)
			if diff := cmp.Diff(got, tt.wantStripped); diff != "" {
				t.Errorf("stripped mismatch (-got +want):\n%s", diff)
			}
			if diff := cmp.Diff(o, tt.want); diff != "" {
				t.Errorf("options mismatch (-got +want):\n%s", diff)
			}
		})
	}
}

// Every key a rule strips must be an option of the table, or the rule would
// silently do nothing for it.
func TestModelRulesTable(t *testing.T) {
	for _, r := range modelRules {
		if len(r.prefixes) == 0 {
			t.Errorf("rule %s: no prefixes", r.family)
		}
		for _, k := range r.strip {
			if row := optionByKey[k]; row == nil || row.wire == nil {
				t.Errorf("rule %s: %q is not an option key", r.family, k)
			}
		}
	}
}

func TestModelName(t *testing.T) {
	for in, want := range map[string]string{
		"openai/gpt-4.1-mini":          "gpt-4.1-mini",
		"gpt-5":                        "gpt-5",
		"a/b/o3-mini":                  "o3-mini",
		"xai/Grok-4.20-0309-Reasoning": "grok-4.20-0309-reasoning",
		"":                             "",
	} {
		if got := modelName(in); got != want {
			t.Errorf("modelName(%q) = %q, want %q", in, got, want)
		}
	}
}
