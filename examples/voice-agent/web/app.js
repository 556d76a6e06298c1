// The page's only script: join a fresh room with the agent, show its
// state, the transcribed conversation, its voice level and each turn's
// latency. It reads what LiveKit's front-end components read: the AGENT
// participant, its lk.agent.state attribute, and lk.transcription text
// streams keyed by sender and lk.segment_id.
'use strict';

const { Room, RoomEvent, ParticipantKind, Track, createLocalAudioTrack } = LivekitClient;

const STATE_ATTRIBUTE = 'lk.agent.state';
const TRANSCRIPTION_TOPIC = 'lk.transcription';
const SEGMENT_ATTRIBUTE = 'lk.segment_id';
const FINAL_ATTRIBUTE = 'lk.transcription_final';

// Voice is heard in 20 ms of audio whose RMS reaches -50 dBFS: the level
// at which the project's simulated user hears (internal/simuser's
// AudibleDBFS; a test keeps the two equal). Flite's quiet lead-in sits
// near -65 dBFS, speech above -30.
const WINDOW_SECONDS = 0.02;
const AUDIBLE_DBFS = -50;
const AUDIBLE_RMS = 10 ** (AUDIBLE_DBFS / 20);
const TICK_MS = 10;

const $ = (id) => document.getElementById(id);
const talkButton = $('talk');
const stopButton = $('stop');

let room = null;
let audio = null; // { ctx, mic, agent, timer } while in a room
let agent = null; // the agent participant
const messages = new Map(); // sender identity + segment id -> message element

function setStatus(text, isError = false) {
  $('status').textContent = text;
  $('status').classList.toggle('error', isError);
}

function showState(state) {
  const el = $('agent-state');
  el.dataset.state = state;
  el.textContent = state || 'not here';
}

talkButton.addEventListener('click', () => {
  talk().catch((err) => {
    setStatus(`Could not start: ${err.message || err}`, true);
    leave();
  });
});
stopButton.addEventListener('click', () => {
  leave();
  setStatus('You left the room.');
});

async function talk() {
  talkButton.disabled = true;
  $('conversation').replaceChildren();
  $('turns').replaceChildren();
  messages.clear();
  // Made inside the click, so the browser lets it play.
  audio = { ctx: new AudioContext(), micTrack: null, mic: null, agent: null, timer: 0, clock: newTurnClock() };
  setStatus('Asking for the microphone…');
  audio.micTrack = await createLocalAudioTrack();
  audio.mic = meter(audio.ctx, audio.micTrack.mediaStreamTrack);
  setStatus('Joining a room…');
  const res = await fetch('token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: '{}',
  });
  if (!res.ok) throw new Error(`token endpoint: ${res.status} ${(await res.text()).trim()}`);
  const { server_url: url, participant_token: token, room_name: roomName } = await res.json();

  room = new Room();
  room
    .on(RoomEvent.ParticipantConnected, watchParticipant)
    .on(RoomEvent.ParticipantAttributesChanged, (_changed, p) => watchParticipant(p))
    .on(RoomEvent.ParticipantDisconnected, (p) => {
      if (p === agent) {
        agent = null;
        showState('');
        setStatus('The agent left.');
      }
    })
    .on(RoomEvent.TrackSubscribed, (track, _pub, p) => {
      if (!audio || track.kind !== Track.Kind.Audio || p.kind !== ParticipantKind.AGENT) return;
      // Chromium feeds a remote track to Web Audio only while an element
      // plays it; the element is also what the user hears.
      document.body.appendChild(track.attach());
      audio.agent = meter(audio.ctx, track.mediaStreamTrack);
    })
    .on(RoomEvent.Disconnected, () => {
      if (room) {
        setStatus('Disconnected from the room.', true);
        leave();
      }
    });
  room.registerTextStreamHandler(TRANSCRIPTION_TOPIC, (reader, sender) => {
    showTranscription(reader, sender.identity).catch((err) => console.warn('transcription', err));
  });

  await room.connect(url, token);
  await room.localParticipant.publishTrack(audio.micTrack); // livekit-client's default publish options (Opus, DTX on)
  await room.startAudio();
  room.remoteParticipants.forEach(watchParticipant);
  stopButton.disabled = false;
  setStatus(agent ? `In room ${roomName} with the agent.` : `In room ${roomName}; waiting for the agent…`);
  audio.timer = setInterval(tick, TICK_MS);
}

function watchParticipant(p) {
  if (p.kind !== ParticipantKind.AGENT) return;
  if (agent !== p) {
    agent = p;
    setStatus(`In room ${room.name} with the agent.`);
  }
  showState(p.attributes[STATE_ATTRIBUTE] || 'initializing');
}

// showTranscription follows one text stream. A stream is a segment, or a
// newer version of a segment already shown: its text replaces the old.
// The final flag comes with the stream's header, or with its trailer for
// streams sent as deltas.
async function showTranscription(reader, identity) {
  const attrs = () => reader.info.attributes || {};
  const key = `${identity}\u0000${attrs()[SEGMENT_ATTRIBUTE] || reader.info.id}`;
  const el = messageFor(key, identity);
  let text = '';
  for await (const chunk of reader) {
    text += chunk;
    setText(el, text, attrs()[FINAL_ATTRIBUTE] === 'true');
  }
  setText(el, text, attrs()[FINAL_ATTRIBUTE] === 'true');
}

function messageFor(key, identity) {
  let el = messages.get(key);
  if (el) return el;
  const mine = room && identity === room.localParticipant.identity;
  const speaker = mine ? 'user' : agent && identity === agent.identity ? 'agent' : 'other';
  el = document.createElement('div');
  el.className = `message ${speaker}`;
  el.dataset.speaker = speaker;
  el.dataset.identity = identity;
  const who = document.createElement('div');
  who.className = 'speaker';
  who.textContent = { user: 'You', agent: 'Agent', other: identity }[speaker];
  const p = document.createElement('p');
  p.className = 'text interim';
  el.append(who, p);
  $('conversation').append(el);
  messages.set(key, el);
  return el;
}

function setText(el, text, final) {
  const p = el.querySelector('.text');
  p.textContent = text;
  p.classList.toggle('interim', !final);
  el.dataset.final = final;
}

// meter measures a track's RMS over the last 20 ms.
function meter(ctx, mediaStreamTrack) {
  const source = ctx.createMediaStreamSource(new MediaStream([mediaStreamTrack]));
  const n = Math.round(ctx.sampleRate * WINDOW_SECONDS);
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 2 ** Math.ceil(Math.log2(n));
  source.connect(analyser);
  const buf = new Float32Array(analyser.fftSize);
  return () => {
    analyser.getFloatTimeDomainData(buf);
    let sum = 0;
    for (let i = buf.length - n; i < buf.length; i++) sum += buf[i] * buf[i];
    return Math.sqrt(sum / n);
  };
}

// newTurnClock times turns: a turn is the user's voice, then the agent's
// voice starting; its latency runs from the last 20 ms of the user's voice
// to the first 20 ms of the agent's.
function newTurnClock() {
  return { userVoiceAt: 0, agentWasQuiet: true, awaitingAnswer: false };
}

function tick() {
  if (!audio || !audio.mic) return;
  const now = performance.now();
  const c = audio.clock;
  if (audio.mic() >= AUDIBLE_RMS) {
    c.userVoiceAt = now;
    c.awaitingAnswer = true;
  }
  const level = audio.agent ? audio.agent() : 0;
  $('agent-level').style.width = `${Math.min(100, Math.round(level * 400))}%`;
  const agentVoice = level >= AUDIBLE_RMS;
  if (agentVoice && c.agentWasQuiet && c.awaitingAnswer && c.userVoiceAt < now) {
    addTurn(c.userVoiceAt, now);
    c.awaitingAnswer = false;
  }
  c.agentWasQuiet = !agentVoice;
}

function addTurn(voiceEnd, answerStart) {
  const latencyMs = Math.round(answerStart - voiceEnd);
  const li = document.createElement('li');
  li.dataset.latencyMs = latencyMs;
  li.dataset.voiceEnd = voiceEnd; // performance.now() times, for tests
  li.dataset.answerStart = answerStart;
  li.textContent = `${latencyMs} ms from the end of your voice to the agent's voice`;
  $('turns').append(li);
}

function leave() {
  const r = room;
  room = null;
  if (audio) {
    clearInterval(audio.timer);
    if (audio.micTrack) audio.micTrack.stop();
    audio.ctx.close();
    audio = null;
  }
  if (r) r.disconnect();
  agent = null;
  showState('');
  $('agent-level').style.width = '0';
  document.querySelectorAll('body > audio').forEach((el) => el.remove());
  talkButton.disabled = false;
  stopButton.disabled = true;
}
