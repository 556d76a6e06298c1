package inference

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// maxErrorBody caps how much of a failed response's body an APIError keeps:
// enough for any JSON error object, not enough to hold a runaway HTML page.
const maxErrorBody = 4 << 10

// APIError is a failure reported by the gateway: a failure HTTP status, or an
// {"error": ...} event inside a stream (then Status is 0 unless the event
// names one). Callers branch on it with errors.As.
type APIError struct {
	// Status is the HTTP status code; 0 for an error event in a stream that
	// names none.
	Status int
	// Code is the provider's error code ("rate_limit_exceeded"), if any.
	Code string
	// Type is the provider's error type ("invalid_request_error"), if any.
	Type string
	// Message is the provider's message, or the status text.
	Message string
	// RequestID is the gateway's x-request-id, for support requests.
	RequestID string
	// Body is the start of the response body (at most 4 KiB), verbatim.
	Body []byte
	// RetryAfter is how long the server asked to wait before retrying
	// (Retry-After or Retry-After-Ms); 0 if it did not say.
	RetryAfter time.Duration
	// InStream reports an error event received after the response started.
	InStream bool
}

func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	s := "inference: "
	if e.InStream {
		s += "stream error"
	} else {
		s += "gateway returned " + strconv.Itoa(e.Status)
	}
	if e.Code != "" {
		s += " (" + e.Code + ")"
	}
	if msg != "" {
		s += ": " + msg
	}
	if e.RequestID != "" {
		s += " [request " + e.RequestID + "]"
	}
	return s
}

// Retryable reports whether sending the same request again may succeed:
// 408, 409, 429 and 5xx, and error events in a stream unless they name a
// client error.
func (e *APIError) Retryable() bool {
	switch {
	case e.Status == 0:
		return !clientErrorTypes[e.Type]
	case e.Status == http.StatusRequestTimeout, e.Status == http.StatusConflict,
		e.Status == http.StatusTooManyRequests:
		return true
	default:
		return e.Status >= 500
	}
}

// clientErrorTypes are the error types, by OpenAI's and Anthropic's names,
// of a stream error that the same request would meet again.
var clientErrorTypes = map[string]bool{
	"invalid_request_error": true, "authentication_error": true, "permission_error": true,
	"not_found_error": true, "request_too_large": true, "insufficient_quota": true,
}

// ConnectionError is a failure to reach the gateway or a connection that
// broke while a response was read.
type ConnectionError struct {
	// Op is what failed: "connect" (no response) or "read" (the body).
	Op  string
	Err error
}

func (e *ConnectionError) Error() string {
	return "inference: connection failed during " + e.Op + ": " + e.Err.Error()
}

func (e *ConnectionError) Unwrap() error { return e.Err }

// Retryable reports true: a broken connection says nothing about the request.
func (e *ConnectionError) Retryable() bool { return true }

// TimeoutError is a response that did not start, or a stream that went
// silent, within the configured time (see WithTimeouts).
type TimeoutError struct {
	// Phase is "first byte" (connect, headers and first body byte) or
	// "idle" (the silence between two reads).
	Phase string
	After time.Duration
}

func (e *TimeoutError) Error() string {
	if e.Phase == "idle" {
		return fmt.Sprintf("inference: stream idle for %v", e.After)
	}
	return fmt.Sprintf("inference: no %s within %v", e.Phase, e.After)
}

// Timeout reports true, so that net.Error-style checks see a timeout.
func (e *TimeoutError) Timeout() bool { return true }

// Retryable reports true: the request is sent again while nothing of it has
// reached the caller.
func (e *TimeoutError) Retryable() bool { return true }

// apiErrorFromResponse builds the error for a failure status, reading at most
// maxErrorBody bytes of the body (the caller closes it).
func apiErrorFromResponse(resp *http.Response, body []byte, now time.Time) *APIError {
	e := &APIError{
		Status:     resp.StatusCode,
		RequestID:  resp.Header.Get("X-Request-Id"),
		Body:       body,
		RetryAfter: retryAfter(resp.Header, now),
	}
	fillFromErrorJSON(e, body)
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}

// errorBody is the OpenAI error object; code is a string or a number
// depending on the provider.
type errorBody struct {
	Error *struct {
		Message json.RawMessage `json:"message"`
		Type    string          `json:"type"`
		Code    json.RawMessage `json:"code"`
		Status  int             `json:"status"`
	} `json:"error"`
	Message string `json:"message"`
}

// fillFromErrorJSON copies what an {"error": {...}} body says into e; a body
// of another shape leaves e as it was.
func fillFromErrorJSON(e *APIError, body []byte) {
	var w errorBody
	if json.Unmarshal(body, &w) != nil {
		return
	}
	if w.Error == nil {
		e.Message = w.Message
		return
	}
	e.Type = w.Error.Type
	e.Message = rawText(w.Error.Message)
	e.Code = rawText(w.Error.Code)
	if e.Status == 0 {
		// Some providers put the HTTP status in "status" or in a numeric
		// "code"; it decides whether a stream error is retryable.
		st := w.Error.Status
		if n, err := strconv.Atoi(e.Code); err == nil && st == 0 {
			st = n
		}
		if st >= 400 && st < 600 {
			e.Status = st
		}
	}
}

// streamError is the *APIError of an error event in a stream. data is the
// event's data: the provider's {"error": ...} (an object, or a string), a
// bare {"message": ...} after an "event: error" field, or text; the message
// is the provider's, else the error value's JSON, else the start of data.
func streamError(data []byte) *APIError {
	e := &APIError{InStream: true}
	fillFromErrorJSON(e, data)
	if e.Message != "" {
		return e
	}
	var w struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(data, &w) == nil && len(w.Error) > 0 && string(w.Error) != "null" {
		e.Message = rawText(w.Error)
	} else if e.Code == "" {
		e.Message = string(echo(data))
	}
	return e
}

// rawText renders a JSON string as its text and anything else (a number, a
// list of messages) as its JSON.
func rawText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}
