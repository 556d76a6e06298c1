package worker

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
)

// DirectJobTokenValidity is how long the token of a DirectJob lets the agent
// join (a participant stays once joined).
const DirectJobTokenValidity = time.Hour

// DirectJob makes a job for room without dispatch, signing the agent's token
// itself: for development (an agent's "connect -room NAME" mode), so the same
// entry point runs with or without a worker. The agent joins as kind AGENT
// with the identity in p ("agent-<job id>" when empty) and the permissions a
// dispatched agent gets by default.
func DirectJob(url, apiKey, apiSecret, room string, p Acceptance) (*Job, error) {
	if room == "" {
		return nil, errors.New("worker: direct job: empty room name")
	}
	if _, err := agentURL(url); err != nil {
		return nil, err
	}
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("worker: direct job: %w", err)
	}
	id := "AJ_direct_" + hex.EncodeToString(b)
	if p.Identity == "" {
		p.Identity = "agent-" + id
	}
	yes := true
	token, err := auth.NewAccessToken(apiKey, apiSecret).
		SetVideoGrant(&auth.VideoGrant{
			RoomJoin:             true,
			Room:                 room,
			Agent:                true,
			CanSubscribe:         &yes,
			CanPublish:           &yes,
			CanPublishData:       &yes,
			CanUpdateOwnMetadata: &yes,
		}).
		SetIdentity(p.Identity).
		SetName(p.Name).
		SetMetadata(p.Metadata).
		SetAttributes(p.Attributes).
		SetKind(livekit.ParticipantInfo_AGENT).
		SetValidFor(DirectJobTokenValidity).
		ToJWT()
	if err != nil {
		return nil, fmt.Errorf("worker: direct job: token: %w", err)
	}
	return &Job{
		Info:        &livekit.Job{Id: id, Type: livekit.JobType_JT_ROOM, Room: &livekit.Room{Name: room}},
		URL:         url,
		Token:       token,
		Participant: p,
	}, nil
}
