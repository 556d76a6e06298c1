package main

import (
	"fmt"
	neturl "net/url"
	"strings"

	"github.com/livekit-go/agents/plugins/inference"
)

// The speech models of LiveKit Inference the agent uses on LiveKit Cloud,
// as LiveKit's own quickstart does.
const (
	cloudSTTModel = "deepgram/nova-3"
	cloudTTSModel = "cartesia/sonic-3"
)

// livekitCloud reports whether url is a LiveKit Cloud project (a
// .livekit.cloud host), whose API key also opens LiveKit Inference.
func livekitCloud(url string) bool {
	u, err := neturl.Parse(url)
	return err == nil && strings.HasSuffix(u.Hostname(), ".livekit.cloud")
}

// inferenceCredentials are the gateway's key and secret: the
// LIVEKIT_INFERENCE_* pair when set, else the server's.
func inferenceCredentials(getenv func(string) string) (key, secret string) {
	if key = getenv("LIVEKIT_INFERENCE_API_KEY"); key != "" {
		return key, getenv("LIVEKIT_INFERENCE_API_SECRET")
	}
	return getenv("LIVEKIT_API_KEY"), getenv("LIVEKIT_API_SECRET")
}

// gatewayEnv hides the server's API key and secret from the LLM's choice
// when LIVEKIT_URL names a server that is not LiveKit Cloud (a local or
// self-hosted server, whose keys, such as the dev server's devkey, open no
// gateway), unless a gateway is configured (LIVEKIT_INFERENCE_URL or
// LIVEKIT_INFERENCE_API_KEY). The agent then talks to the local stand-in
// model rather than fail at LiveKit Inference.
func gatewayEnv(getenv func(string) string) func(string) string {
	url := getenv("LIVEKIT_URL")
	if url == "" || livekitCloud(url) || getenv("LIVEKIT_INFERENCE_URL") != "" || getenv("LIVEKIT_INFERENCE_API_KEY") != "" {
		return getenv
	}
	return func(k string) string {
		if k == "LIVEKIT_API_KEY" || k == "LIVEKIT_API_SECRET" {
			return ""
		}
		return getenv(k)
	}
}

// gatewayURL is the LiveKit Inference URL the environment asks for:
// LIVEKIT_INFERENCE_URL, else the staging gateway for a staging LIVEKIT_URL,
// else "" (the plugins' default). It reads getenv rather than leaving this
// to the plugins so that tests can set the environment.
func gatewayURL(getenv func(string) string) string {
	if u := getenv("LIVEKIT_INFERENCE_URL"); u != "" {
		return u
	}
	if strings.Contains(getenv("LIVEKIT_URL"), ".staging.livekit.cloud") {
		return "https://agent-gateway.staging.livekit.cloud/v1"
	}
	return ""
}

// useCloudSpeech reports whether the agent should hear and speak through
// LiveKit Inference: LIVEKIT_URL is a LiveKit Cloud project and there are
// credentials to sign gateway tokens with. Anywhere else (a local server,
// no account) the local stack is used.
func useCloudSpeech(getenv func(string) string) bool {
	key, secret := inferenceCredentials(getenv)
	return livekitCloud(getenv("LIVEKIT_URL")) && key != "" && secret != ""
}

// cloudSpeech builds LiveKit Inference's STT and TTS with the LLM's URL and
// credential rules (chatLLM). The TTS holds pooled connections: Close it.
func cloudSpeech(getenv func(string) string) (*inference.STTModel, *inference.TTSModel, error) {
	key, secret := inferenceCredentials(getenv)
	opts := []inference.SpeechOption{inference.WithSpeechCredentials(key, secret)}
	if u := gatewayURL(getenv); u != "" {
		opts = append(opts, inference.WithSpeechBaseURL(u))
	}
	var sttOpts []inference.STTOption
	var ttsOpts []inference.TTSOption
	for _, o := range opts {
		sttOpts, ttsOpts = append(sttOpts, o), append(ttsOpts, o)
	}
	stt, err := inference.NewSTT(cloudSTTModel, sttOpts...)
	if err != nil {
		return nil, nil, fmt.Errorf("LiveKit Inference STT %s: %w", cloudSTTModel, err)
	}
	tts, err := inference.NewTTS(cloudTTSModel, ttsOpts...)
	if err != nil {
		return nil, nil, fmt.Errorf("LiveKit Inference TTS %s: %w", cloudTTSModel, err)
	}
	return stt, tts, nil
}
