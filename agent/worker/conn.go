package worker

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/livekit/protocol/auth"
	"github.com/livekit/protocol/livekit"
	"google.golang.org/protobuf/proto"
)

const (
	// maxMessageSize bounds what one server message may make the worker
	// buffer; real ones are a few kilobytes (a job with its room).
	maxMessageSize = 1 << 20
	writeTimeout   = 10 * time.Second
	closeTimeout   = time.Second
	tokenValidity  = 10 * time.Minute
)

// wsConn is the part of *websocket.Conn a session uses.
type wsConn interface {
	ReadMessage() (int, []byte, error)
	WriteMessage(int, []byte) error
	WriteControl(int, []byte, time.Time) error
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
	Close() error
}

// session is one websocket connection to the server's /agent endpoint.
// send is safe for concurrent use; read is called by one goroutine at a time.
type session struct {
	conn     wsConn
	workerID string
	wmu      sync.Mutex
	heard    atomic.Int64 // unix nanoseconds of the last message read
}

func newSession(conn wsConn) *session {
	s := &session{conn: conn}
	s.heard.Store(time.Now().UnixNano())
	return s
}

func (s *session) send(msg *livekit.WorkerMessage) error {
	b, err := proto.Marshal(msg)
	if err != nil {
		return fmt.Errorf("worker: encode: %w", err)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.conn.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return fmt.Errorf("worker: write: %w", err)
	}
	if err := s.conn.WriteMessage(websocket.BinaryMessage, b); err != nil {
		return fmt.Errorf("worker: write: %w", err)
	}
	return nil
}

// read returns the next binary message; other message types are skipped.
func (s *session) read() ([]byte, error) {
	for {
		typ, data, err := s.conn.ReadMessage()
		if err != nil {
			return nil, fmt.Errorf("worker: read: %w", err)
		}
		s.heard.Store(time.Now().UnixNano())
		if typ == websocket.BinaryMessage {
			return data, nil
		}
	}
}

func (s *session) lastHeard() time.Time { return time.Unix(0, s.heard.Load()) }

// closeNormally tells the server the worker is leaving on purpose.
func (s *session) closeNormally(reason string) {
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, reason)
	_ = s.conn.WriteControl(websocket.CloseMessage, msg, time.Now().Add(closeTimeout))
}

func (s *session) close() { _ = s.conn.Close() }

func decodeServerMessage(data []byte) (*livekit.ServerMessage, error) {
	msg := &livekit.ServerMessage{}
	if err := proto.Unmarshal(data, msg); err != nil {
		return nil, fmt.Errorf("worker: decode server message: %w", err)
	}
	return msg, nil
}

// connect dials the server and registers; the session it returns is
// registered.
func (w *Worker) connect(ctx context.Context) (*session, error) {
	token, err := auth.NewAccessToken(w.apiKey, w.apiSecret).
		SetVideoGrant(&auth.VideoGrant{Agent: true}).
		SetValidFor(tokenValidity).
		ToJWT()
	if err != nil {
		return nil, &permanentError{fmt.Errorf("worker: token: %w", err)}
	}
	d := w.cfg.dialer
	if d == nil {
		d = websocket.DefaultDialer
	}
	conn, resp, err := d.DialContext(ctx, w.wsURL, http.Header{"Authorization": {"Bearer " + token}})
	if err != nil {
		if resp != nil {
			if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
				return nil, &permanentError{fmt.Errorf("worker: %s refused the credentials: %s", w.wsURL, resp.Status)}
			}
			return nil, fmt.Errorf("worker: dial %s: %s: %w", w.wsURL, resp.Status, err)
		}
		return nil, fmt.Errorf("worker: dial %s: %w", w.wsURL, err)
	}
	conn.SetReadLimit(maxMessageSize)
	s := newSession(conn)
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	reg, err := w.register(s)
	stop()
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	s.workerID = reg.GetWorkerId()
	info := reg.GetServerInfo()
	w.log.Info("worker: registered", "worker_id", s.workerID, "server_version", info.GetVersion(),
		"region", info.GetRegion(), "node_id", info.GetNodeId(), "agent_protocol", info.GetAgentProtocol())
	return s, nil
}

func (w *Worker) register(s *session) (*livekit.RegisterWorkerResponse, error) {
	err := s.send(&livekit.WorkerMessage{Message: &livekit.WorkerMessage_Register{
		Register: &livekit.RegisterWorkerRequest{
			Type:               w.cfg.jobType,
			AgentName:          w.cfg.agentName,
			Version:            w.cfg.version,
			Namespace:          w.cfg.namespace,
			AllowedPermissions: w.cfg.permissions,
		},
	}})
	if err != nil {
		return nil, err
	}
	if err := s.conn.SetReadDeadline(time.Now().Add(w.cfg.registerTimeout)); err != nil {
		return nil, fmt.Errorf("worker: register: %w", err)
	}
	data, err := s.read()
	if err != nil {
		return nil, fmt.Errorf("worker: register: %w", err)
	}
	msg, err := decodeServerMessage(data)
	if err != nil {
		return nil, err
	}
	reg := msg.GetRegister()
	if reg == nil {
		return nil, fmt.Errorf("worker: register: expected the register response, got %T", msg.GetMessage())
	}
	if reg.GetWorkerId() == "" {
		return nil, errors.New("worker: register: response without worker id")
	}
	if err := s.conn.SetReadDeadline(time.Time{}); err != nil {
		return nil, fmt.Errorf("worker: register: %w", err)
	}
	return reg, nil
}
