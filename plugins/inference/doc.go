// Package inference is the LiveKit Inference plugin: a [session.LLM] that
// streams chat completions from the LiveKit Inference gateway, and the
// gateway's speech models.
//
// [LLM] (or [NewLLM]) builds a [Model]. Its Chat runs a request through a
// chain of middleware, each doing one thing, in this order: merge the
// persistent and per-call model options (the per-call side of an exclusive
// pair such as temperature and top_p replaces the persistent other side),
// apply the model family's rules, validate what will be sent (the enums of
// the embedded OpenAI schema; OpenAI's ranges for openai/ models only),
// apply the tool rules, then the user's [WithMiddleware] steps, and finally
// send it to the gateway. [ModelOptions] are typed, or parsed from the map
// form configuration uses ([ParseModelOptions]), whose extra_body,
// extra_headers and extra_query are merged into the body, the headers and
// the URL.
//
// [STT] and [TTS] build an [STTModel] and a [TTSModel], which implement
// [session.STT] and [session.TTS] over the gateway's /stt and /tts
// WebSockets, sharing the LLM's URL, credential and header rules (see the
// README).
//
// # Sending
//
// The gateway step streams through go-openai's CreateChatCompletionStream,
// but go-openai only carries the request: it is given the model alone, and
// the HTTPDoer under it swaps in the exact JSON body, signs the gateway token
// (an HS256 JWT with the inference grant, signed once and reused until two
// minutes before it expires), and adds the X-LiveKit-* headers (provider,
// priority, and inside a job the room, job and agent ids of
// [session.JobInfoFrom], the hosted agent's worker token and a session id),
// built by the function the speech sockets use too. The default transport
// keeps many idle connections per host, since a worker streams from one
// gateway host for many sessions at once, and reads a body's end after
// [DONE] so that its connection is reused; [WithHTTPClient] replaces it.
// The API secret and the token never print: the types that hold them
// format and log without them. Extra header and query values may be
// credentials too: they are a [SecretMap], which prints its keys only, and
// a transport error's URL shows the query's keys only.
//
// # Errors, retries and timeouts
//
// Failures are typed: [*APIError] (an HTTP status or an error event in the
// stream, with the request id, a capped body and Retryable), a
// [*ConnectionError] and a [*TimeoutError]; errors.As finds them in what Chat
// and Recv return. A request is retried only while nothing of it has reached
// the caller: on 408, 409, 429 and 5xx, connection errors, timeouts, and
// error events or drops before the first chunk; at most [WithMaxRetries]
// times, honouring Retry-After and Retry-After-Ms, else backing off
// exponentially with jitter. Two timeouts apply ([WithTimeouts]): one for the
// connection, the response headers and the first body byte, and one for the
// silence between two reads. No deadline covers the whole stream.
//
// # Streams
//
// The stream returned by Chat follows [session.LLMStream]: Recv returns
// content deltas in order (with think sections removed, also when their
// tags are split across deltas, by the model's markers), each tool call
// once and whole (all of them, however many share a delta, flushed at
// finish_reason, [DONE] or the end of the body) with its own extra_content,
// which the next request sends back on that call, logprobs, audio deltas and
// the delta's extra_content verbatim, and the usage once, on the last chunk.
// Tool calls carry the provider's id in CallID and leave ID empty: the
// session gives chat items their ids when it adds them. Recv returns io.EOF
// after the last chunk; after Close it returns [session.ErrStreamClosed];
// after the context is cancelled, the context's cause, unless the stream
// had already ended: then the chunks already decoded are still returned.
// Close is idempotent and unblocks a blocked Recv.
//
// [WithMetrics] receives one [Metrics] per request when its stream ends.
package inference
