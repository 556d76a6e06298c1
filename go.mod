module github.com/livekit-go/agents

go 1.26.8
