package roomio

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/livekit/protocol/livekit"
	protologger "github.com/livekit/protocol/logger"
	lksdk "github.com/livekit/server-sdk-go/v2"
	lkmedia "github.com/livekit/server-sdk-go/v2/pkg/media"
	"github.com/pion/webrtc/v4"

	"github.com/livekit-go/agents/internal/resample"
	"github.com/livekit-go/agents/session"
)

// Why a room's Done channel closed, for [Room.Err].
var (
	// ErrUserLeft: the linked user left the room for good, or dropped
	// and did not come back in time (WithUserReconnectTimeout).
	ErrUserLeft = errors.New("roomio: the user left the room")
	// ErrRoomClosed: the room was closed or deleted, or the server removed
	// the agent from it.
	ErrRoomClosed = errors.New("roomio: the room closed")
	// ErrDisconnected: the connection to the room was lost for good (the
	// SDK resumes or restarts it first).
	ErrDisconnected = errors.New("roomio: disconnected from the room")
	// ErrClosed: Close was called.
	ErrClosed = errors.New("roomio: closed")
)

// Option configures [Connect].
type Option func(*options) error

type options struct {
	identity    string
	userAway    time.Duration
	inputRate   int
	outputRate  int
	bindTimeout time.Duration
	trackName   string
	logger      *slog.Logger
	sdkLogger   protologger.Logger
}

// WithParticipantIdentity links the session to the participant with this
// identity instead of the first standard (or SIP) participant.
func WithParticipantIdentity(identity string) Option {
	return func(o *options) error { o.identity = identity; return nil }
}

// DefaultUserReconnectTimeout is how long the agent waits for a user whose
// connection dropped: livekit-server's default departure_timeout, the time
// it gives a participant to come back before it closes an empty room.
const DefaultUserReconnectTimeout = 20 * time.Second

// WithUserReconnectTimeout bounds how long the agent waits for the linked
// user to come back when their connection dropped (any disconnect reason
// but CLIENT_INITIATED, ROOM_DELETED and USER_REJECTED, which end the
// room at once, as in LiveKit Agents). 0 does not wait.
func WithUserReconnectTimeout(d time.Duration) Option {
	return func(o *options) error {
		if d < 0 {
			return fmt.Errorf("roomio: user reconnect timeout %v is negative", d)
		}
		o.userAway = d
		return nil
	}
}

// WithInputSampleRate sets the rate the user's audio is decoded to (the
// rate the STT wants; 16000 by default, the local speech plugins' rate).
func WithInputSampleRate(hz int) Option {
	return func(o *options) error {
		if hz < 8000 || hz > 48000 {
			return fmt.Errorf("roomio: input sample rate %d Hz out of range [8000, 48000]", hz)
		}
		o.inputRate = hz
		return nil
	}
}

// WithOutputSampleRate sets the rate of the agent's audio as the TTS makes
// it (16000 by default); the track resamples it to Opus's 48 kHz. Frames
// at another rate are converted first.
func WithOutputSampleRate(hz int) Option {
	return func(o *options) error {
		if hz < 8000 || hz > 48000 || hz%100 != 0 {
			return fmt.Errorf("roomio: output sample rate %d Hz not a multiple of 100 in [8000, 48000]", hz)
		}
		o.outputRate = hz
		return nil
	}
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error {
		if l == nil {
			return errors.New("roomio: logger must not be nil")
		}
		o.logger = l
		return nil
	}
}

// WithSDKLogger sets the logger of server-sdk-go for this room (its
// default is the package-wide one).
func WithSDKLogger(l protologger.Logger) Option {
	return func(o *options) error { o.sdkLogger = l; return nil }
}

// Room is the agent in a LiveKit room: the linked user's microphone as a
// session audio input, the agent's voice as a published Opus track, the
// transcriptions of both on lk.transcription and the agent's state on its
// lk.agent.state attribute. Its methods are safe for concurrent use.
type Room struct {
	o      options
	room   *lksdk.Room
	logger *slog.Logger

	in    *audioInput
	chat  chan string // lk.chat messages of the user, for textInput
	out   *audioOutput
	track *boundTrack
	pub   *publisher // transcripts
	state *publisher // the lk.agent.state attribute: never behind text
	text  *textOutput
	user  *userTranscripts

	mu           sync.Mutex
	agentPub     *lksdk.LocalTrackPublication
	agentState   session.AgentState
	userIdentity string
	userTrackID  string
	listening    map[string]bool // the user's tracks fed to the input, by sid
	awayTimer    *time.Timer     // the linked user dropped: the wait for them
	reconnecting bool
	linked       chan struct{}
	closing      bool
	done         chan struct{}
	err          error
}

// boundTrack tells when pion bound the local track to the connection:
// PCMLocalTrack drops what is written before.
type boundTrack struct {
	*lkmedia.PCMLocalTrack
	once  sync.Once
	bound chan struct{}
}

// Bind implements webrtc.TrackLocal.
func (t *boundTrack) Bind(c webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	p, err := t.PCMLocalTrack.Bind(c)
	if err == nil {
		t.once.Do(func() { close(t.bound) })
	}
	return p, err
}

// Connect joins the room at url with token (a job's, see package worker),
// publishes the agent's audio track and waits until audio can flow on it,
// and sets the agent's state to initializing. It links the user as soon as
// one is present (see [Room.WaitForUser]). ctx bounds the connection, not
// the room's life: Close ends that.
func Connect(ctx context.Context, url, token string, opts ...Option) (*Room, error) {
	o := options{inputRate: 16000, outputRate: 16000, userAway: DefaultUserReconnectTimeout, bindTimeout: 15 * time.Second, trackName: "roomio_audio", logger: slog.Default()}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	r := &Room{
		o:         o,
		logger:    o.logger,
		in:        newAudioInput(o.inputRate),
		chat:      make(chan string, 16),
		pub:       newPublisher(),
		state:     newPublisher(),
		listening: map[string]bool{},
		linked:    make(chan struct{}),
		done:      make(chan struct{}),
	}
	r.text = &textOutput{pub: r.pub, send: r, trackID: r.agentTrack, identity: r.agentIdentity}
	r.user = &userTranscripts{pub: r.pub, send: r, trackID: r.userTrack, identity: r.UserIdentity}

	cb := lksdk.NewRoomCallback()
	cb.OnParticipantConnected = func(rp *lksdk.RemoteParticipant) { r.consider(rp) }
	cb.OnParticipantDisconnected = r.onParticipantDisconnected
	cb.OnTrackPublished = func(pub *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) { r.consider(rp) }
	cb.OnTrackSubscribed = r.onTrackSubscribed
	cb.OnTrackUnsubscribed = r.onTrackUnsubscribed
	cb.OnReconnecting = func() {
		r.mu.Lock()
		r.reconnecting = true
		r.mu.Unlock()
		r.logger.Warn("roomio: connection lost, reconnecting")
	}
	cb.OnReconnected = func() {
		r.mu.Lock()
		r.reconnecting = false
		state := r.agentState
		r.mu.Unlock()
		r.logger.Info("roomio: reconnected")
		// A full reconnection is a new participant session: the
		// attributes set before are gone.
		r.setState(state)
		r.scan()
	}
	cb.OnDisconnectedWithReason = func(lksdk.DisconnectionReason) {
		switch reason := r.room.DisconnectReason(); reason {
		case livekit.DisconnectReason_ROOM_DELETED, livekit.DisconnectReason_ROOM_CLOSED,
			livekit.DisconnectReason_PARTICIPANT_REMOVED, livekit.DisconnectReason_CLIENT_INITIATED:
			r.finish(fmt.Errorf("%w: %s", ErrRoomClosed, reason))
		default:
			r.finish(fmt.Errorf("%w: %s", ErrDisconnected, reason))
		}
	}
	r.room = lksdk.NewRoom(cb)
	copts := []lksdk.ConnectOption{lksdk.WithAutoSubscribe(false)}
	if o.sdkLogger != nil {
		copts = append(copts, lksdk.WithLogger(o.sdkLogger))
	}
	if err := r.room.JoinWithContextAndToken(ctx, url, token, copts...); err != nil {
		r.pub.stop()
		r.state.stop()
		r.in.shutdown()
		return nil, fmt.Errorf("roomio: join: %w", err)
	}
	r.setState(session.AgentInitializing)
	if err := r.room.RegisterTextStreamHandler(TopicChat, r.onChat); err != nil {
		r.Close()
		return nil, fmt.Errorf("roomio: %s handler: %w", TopicChat, err)
	}

	sdkLog := o.sdkLogger
	if sdkLog == nil {
		sdkLog = protologger.GetLogger()
	}
	// For rates dividing 48 kHz the room resamples itself (resample.go):
	// the track then gets 48 kHz and runs no resampler of its own.
	trackRate := o.outputRate
	if opusRate%o.outputRate == 0 {
		trackRate = opusRate
	}
	pcm, err := lkmedia.NewPCMLocalTrack(trackRate, 1, sdkLog)
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("roomio: audio track: %w", err)
	}
	r.track = &boundTrack{PCMLocalTrack: pcm, bound: make(chan struct{})}
	lpub, err := r.room.LocalParticipant.PublishTrack(r.track, &lksdk.TrackPublicationOptions{
		Name: o.trackName, Source: livekit.TrackSource_MICROPHONE,
	})
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("roomio: publish audio: %w", err)
	}
	r.mu.Lock()
	r.agentPub = lpub
	r.mu.Unlock()
	wait := time.NewTimer(o.bindTimeout)
	defer wait.Stop()
	select {
	case <-r.track.bound:
	case <-ctx.Done():
		r.Close()
		return nil, fmt.Errorf("roomio: waiting for the audio track: %w", ctx.Err())
	case <-wait.C:
		r.Close()
		return nil, fmt.Errorf("roomio: audio track not bound after %v", o.bindTimeout)
	case <-r.done:
		err := r.Err()
		r.Close()
		return nil, err
	}
	var sink pcmSink = r.track
	if trackRate != o.outputRate {
		sink = &upsampleSink{sink: r.track, up: resample.NewUpsampler(trackRate / o.outputRate)}
	}
	r.out = newAudioOutput(sink, o.outputRate, 1)
	r.scan()
	return r, nil
}

// Stats are counters of a room's audio.
type Stats struct {
	// Underruns counts the times the agent's track had nothing to play in
	// the middle of a reply (the TTS or the feeder was late) and sent
	// silence instead.
	Underruns int64
	// InputDropped counts user frames dropped because the session did not
	// read them in time.
	InputDropped int64
	// InputPackets counts the user's packets decoded; InputLost those that
	// never came (concealed), InputLate those that came too late to play
	// or twice (dropped), InputStretched those that came after their time
	// was filled with silence (played all the same).
	InputPackets, InputLost, InputLate, InputStretched int64
	// InputSilence is the silence the input produced where no audio came:
	// DTX, mute, no microphone.
	InputSilence time.Duration
	// InputMargin is how long the input now waits for a late packet
	// before filling its time (3x the measured jitter, 20 to 100 ms).
	InputMargin time.Duration
}

// Stats returns the room's counters so far.
func (r *Room) Stats() Stats {
	var s Stats
	if r.out != nil {
		s.Underruns = r.out.stats()
	}
	s.InputDropped = r.in.dropped.Load()
	st, margin := r.in.counters()
	s.InputPackets, s.InputLost, s.InputLate, s.InputStretched = st.packets, st.lost, st.late, st.stretch
	s.InputSilence, s.InputMargin = st.silence, margin
	return s
}

// LiveKit returns the SDK's room, for what this package does not cover
// (RPC, data, other tracks).
func (r *Room) LiveKit() *lksdk.Room { return r.room }

// IO returns the session I/O of the room: the user's audio and their
// messages on lk.chat (each a complete turn), the agent's audio and its
// transcript.
func (r *Room) IO() session.IO {
	return session.IO{Audio: r.in, Text: textInput{r}, AudioOut: r.out, TextOut: r.text}
}

// onChat takes a text stream on lk.chat; only the linked user's count.
func (r *Room) onChat(reader *lksdk.TextStreamReader, from string) {
	text := strings.TrimSpace(reader.ReadAll())
	if text == "" || from != r.UserIdentity() {
		return
	}
	select {
	case r.chat <- text:
	case <-r.done:
	}
}

// textInput is the user's lk.chat messages as a session.TextInput.
type textInput struct{ r *Room }

// RecvText implements session.TextInput; io.EOF once the room ended.
func (t textInput) RecvText(ctx context.Context) (string, error) {
	select {
	case s := <-t.r.chat:
		return s, nil
	case <-t.r.done:
		return "", io.EOF
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// HandleEvent mirrors session events into the room: agent state changes
// to the lk.agent.state attribute, user transcripts to lk.transcription.
// It never blocks; pass it every event (see [Events]).
func (r *Room) HandleEvent(e session.Event) {
	switch e := e.(type) {
	case session.AgentStateChangedEvent:
		r.setState(e.New)
	case session.UserInputTranscribedEvent:
		r.user.handle(e)
	}
}

func (r *Room) setState(s session.AgentState) {
	r.mu.Lock()
	r.agentState = s
	r.mu.Unlock()
	r.state.do(func() {
		r.room.LocalParticipant.SetAttributes(map[string]string{AttributeAgentState: string(s)})
	})
}

// errNotConnected: a transcript packet is not sent while the connection
// is down (server-sdk-go would wait for it to come back).
var errNotConnected = errors.New("roomio: not connected")

// sendData implements dataSender. Packets are dropped while the
// connection is not up; a transcript stream that lost some is sent again
// whole at its end (transcript.go).
func (r *Room) sendData(p *livekit.DataPacket) error {
	r.mu.Lock()
	reconnecting := r.reconnecting
	r.mu.Unlock()
	if reconnecting || r.room.ConnectionState() != lksdk.ConnectionStateConnected {
		return errNotConnected
	}
	return r.room.LocalParticipant.PublishDataPacket(rawPacket{p}, lksdk.WithDataPublishReliable(true))
}

// agentTrack is the sid of the agent's audio track now: a full
// reconnection publishes it again under a new sid.
func (r *Room) agentTrack() string {
	r.mu.Lock()
	pub := r.agentPub
	r.mu.Unlock()
	if pub == nil {
		return ""
	}
	for _, tp := range r.room.LocalParticipant.TrackPublications() {
		if lp, ok := tp.(*lksdk.LocalTrackPublication); ok && lp.TrackLocal() == pub.TrackLocal() {
			return lp.SID()
		}
	}
	return pub.SID()
}

// agentIdentity is the agent's own identity in the room ("" before it
// joined).
func (r *Room) agentIdentity() string {
	if r.room == nil {
		return ""
	}
	return r.room.LocalParticipant.Identity()
}

func (r *Room) userTrack() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.userTrackID
}

// UserIdentity returns the identity of the linked user, "" before one is.
func (r *Room) UserIdentity() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.userIdentity
}

// WaitForUser waits until a user is linked and returns their identity.
func (r *Room) WaitForUser(ctx context.Context) (string, error) {
	select {
	case <-r.linked:
		return r.UserIdentity(), nil
	case <-r.done:
		return "", r.Err()
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// Done is closed when the room ended for the agent: the user left, the
// connection was lost for good, or Close was called. Err says which.
func (r *Room) Done() <-chan struct{} { return r.done }

// Err returns why Done closed, nil before.
func (r *Room) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

func (r *Room) finish(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return
	}
	r.err = err
	close(r.done)
	// The input goes on (silence) until Close: a session run by RunJob is
	// closed with the room's reason rather than seeing its input end.
}

// scan links a user from the participants already present.
func (r *Room) scan() {
	for _, rp := range r.room.GetRemoteParticipants() {
		r.consider(rp)
	}
}

// consider links rp if it is the user to listen to, and subscribes to its
// microphone.
func (r *Room) consider(rp *lksdk.RemoteParticipant) {
	r.mu.Lock()
	if r.closing || r.err != nil {
		r.mu.Unlock()
		return
	}
	switch {
	case r.userIdentity == rp.Identity():
		r.userBackLocked()
	case r.userIdentity != "":
		r.mu.Unlock()
		return
	case r.o.identity != "" && rp.Identity() != r.o.identity:
		r.mu.Unlock()
		return
	case r.o.identity == "" && rp.Kind() != lksdk.ParticipantStandard && rp.Kind() != lksdk.ParticipantSIP:
		r.mu.Unlock()
		return
	default:
		r.userIdentity = rp.Identity()
		close(r.linked)
		r.logger.Info("roomio: linked to user", "identity", rp.Identity())
	}
	r.mu.Unlock()
	for _, tp := range rp.TrackPublications() {
		pub, ok := tp.(*lksdk.RemoteTrackPublication)
		if !ok || pub.Source() != livekit.TrackSource_MICROPHONE || pub.IsSubscribed() {
			continue
		}
		if err := pub.SetSubscribed(true); err != nil {
			r.logger.Warn("roomio: subscribe to the user's microphone", "err", err)
		}
	}
}

func (r *Room) onTrackSubscribed(track *webrtc.TrackRemote, pub *lksdk.RemoteTrackPublication, rp *lksdk.RemoteParticipant) {
	if pub.Source() != livekit.TrackSource_MICROPHONE || track.Kind() != webrtc.RTPCodecTypeAudio {
		return
	}
	if mime := track.Codec().MimeType; !strings.EqualFold(mime, webrtc.MimeTypeOpus) {
		r.logger.Warn("roomio: the user's microphone is not Opus", "codec", mime)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closing || rp.Identity() != r.userIdentity || r.listening[pub.SID()] {
		return
	}
	r.listening[pub.SID()] = true
	r.in.listen(pub.SID(), track)
	r.userTrackID = pub.SID()
	r.logger.Debug("roomio: listening to the user's microphone", "track", pub.SID())
}

func (r *Room) onTrackUnsubscribed(_ *webrtc.TrackRemote, pub *lksdk.RemoteTrackPublication, _ *lksdk.RemoteParticipant) {
	r.mu.Lock()
	was := r.listening[pub.SID()]
	delete(r.listening, pub.SID())
	r.mu.Unlock()
	if was {
		r.in.unlisten(pub.SID())
	}
}

// closeReason reports whether a user left for good; any other drop of
// their connection is waited out (LiveKit Agents'
// DEFAULT_CLOSE_ON_DISCONNECT_REASONS).
func closeReason(r livekit.DisconnectReason) bool {
	switch r {
	case livekit.DisconnectReason_CLIENT_INITIATED, livekit.DisconnectReason_ROOM_DELETED, livekit.DisconnectReason_USER_REJECTED:
		return true
	}
	return false
}

func (r *Room) onParticipantDisconnected(rp *lksdk.RemoteParticipant) {
	r.mu.Lock()
	linked := rp.Identity() == r.userIdentity
	reconnecting := r.reconnecting
	r.mu.Unlock()
	// A restart of the agent's own connection reports everyone as gone;
	// they come back when it is re-established.
	if !linked || reconnecting || r.room.GetParticipantByIdentity(rp.Identity()) != nil {
		return
	}
	reason := rp.DisconnectReason()
	if closeReason(reason) || r.o.userAway == 0 {
		r.finish(fmt.Errorf("%w: %s (%s)", ErrUserLeft, rp.Identity(), reason))
		return
	}
	// Their connection dropped: the session goes on (the input is
	// silence) and their identity is relinked when it comes back.
	id, wait := rp.Identity(), r.o.userAway
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.awayTimer != nil || r.closing {
		return
	}
	r.logger.Warn("roomio: the user's connection dropped; waiting for them", "identity", id, "reason", reason.String(), "for", wait)
	r.awayTimer = time.AfterFunc(wait, func() {
		r.mu.Lock()
		away := r.awayTimer != nil
		r.mu.Unlock()
		if away {
			r.finish(fmt.Errorf("%w: %s dropped (%s) and did not come back within %v", ErrUserLeft, id, reason, wait))
		}
	})
}

// userBackLocked ends the wait for a user who dropped; r.mu is held.
func (r *Room) userBackLocked() {
	if r.awayTimer == nil {
		return
	}
	r.awayTimer.Stop()
	r.awayTimer = nil
	r.logger.Info("roomio: the user is back", "identity", r.userIdentity)
}

// Close leaves the room and stops everything the Room started; idempotent.
func (r *Room) Close() {
	r.mu.Lock()
	if r.closing {
		r.mu.Unlock()
		return
	}
	r.closing = true
	r.listening = map[string]bool{}
	if r.awayTimer != nil {
		r.awayTimer.Stop()
		r.awayTimer = nil
	}
	r.mu.Unlock()
	r.finish(ErrClosed)
	if r.out != nil {
		r.out.close()
	}
	r.pub.stop() // sends what is queued (the last transcript) first
	r.state.stop()
	r.room.Disconnect()
	r.in.shutdown() // its readers end with the connection
	if r.track != nil {
		r.track.ClearQueue()
		_ = r.track.Close()
	}
}
