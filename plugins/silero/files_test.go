package silero

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The model travels in the package: with no path given and
// $SILERO_VAD_MODEL unset, Load uses the embedded file, and it hears
// speech.
func TestLoadUsesTheEmbeddedModel(t *testing.T) {
	t.Setenv(EnvModel, "")
	v := load(t)
	if v.Model() != EmbeddedModel {
		t.Errorf("model %q, want the embedded one", v.Model())
	}
	evs := speechEvents(detect(t, v, speech(t, "The embedded model hears this sentence."), 320))
	if len(evs) != 2 || evs[0].Type != StartOfSpeech || evs[1].Type != EndOfSpeech {
		t.Errorf("events %+v, want one start and one end of speech", summary(evs))
	}
}

// The embedded bytes are the file whose provenance
// silero_vad.onnx.LICENSE records.
func TestEmbeddedModelIsTheRecordedFile(t *testing.T) {
	sum := sha256.Sum256(embeddedModel)
	note, err := os.ReadFile("silero_vad.onnx.LICENSE")
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(sum[:]); !strings.Contains(string(note), got) {
		t.Errorf("embedded model sha256 %s is not the one silero_vad.onnx.LICENSE records", got)
	}
}

// $SILERO_VAD_MODEL still overrides the embedded model, and a wrong path
// in it is an error naming the path, not a silent fallback.
func TestModelVariableOverrides(t *testing.T) {
	path := filepath.Join(t.TempDir(), "copy.onnx")
	if err := os.WriteFile(path, embeddedModel, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvModel, path)
	if v := load(t); v.Model() != path {
		t.Errorf("model %q, want %s from $%s", v.Model(), path, EnvModel)
	}
	t.Setenv(EnvModel, "/nonexistent/silero.onnx")
	_, err := Load()
	if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "/nonexistent/silero.onnx") {
		t.Errorf("Load with a wrong $%s: %v, want ErrNotInstalled naming the path", EnvModel, err)
	}
}

func TestFindRuntime(t *testing.T) {
	home, cache, lib := t.TempDir(), t.TempDir(), filepath.Join(t.TempDir(), "libonnxruntime.so.1")
	put := func(dir string) string {
		p := filepath.Join(dir, runtimeFile)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if err := os.WriteFile(lib, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	inHome := put(filepath.Join(home, ".cache", "livekit-go-agents"))
	emptyHome := t.TempDir()
	inCache := put(cache)
	for _, tc := range []struct {
		name, given string
		env         map[string]string
		home        string
		want        string
		wantErr     []string // substrings of the error
	}{
		{"option wins", lib, map[string]string{EnvRuntime: "/x", EnvCache: cache}, home, lib, nil},
		{"variable over the cache", "", map[string]string{EnvRuntime: lib, EnvCache: cache}, home, lib, nil},
		{"a wrong variable is an error", "", map[string]string{EnvRuntime: "/nonexistent/lib.so"}, home, "", []string{"/nonexistent/lib.so"}},
		{"LKGO_CACHE", "", map[string]string{EnvCache: cache}, home, inCache, nil},
		{"default cache in home", "", nil, home, inHome, nil},
		{"LKGO_CACHE without it falls back to home", "", map[string]string{EnvCache: t.TempDir()}, home, inHome, nil},
		{"nowhere", "", nil, emptyHome, "", []string{"$ONNXRUNTIME_LIB is unset", filepath.Join(emptyHome, ".cache/livekit-go-agents", runtimeFile), "`bash scripts/setup.sh`"}},
		{"no home", "", nil, "", "", []string{"$ONNXRUNTIME_LIB is unset", "`bash scripts/setup.sh`"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := findRuntime(tc.given, func(k string) string { return tc.env[k] }, tc.home)
			if tc.wantErr == nil {
				if err != nil || got != tc.want {
					t.Errorf("findRuntime = %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			if !errors.Is(err, ErrNotInstalled) {
				t.Fatalf("findRuntime = %q, %v; want ErrNotInstalled", got, err)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans lines: %q", msg)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
		})
	}
}

// With neither variable set, Load finds the library where
// scripts/setup.sh puts it ($LKGO_CACHE here, a link to the real one).
func TestLoadFindsTheRuntimeInTheCache(t *testing.T) {
	home, _ := os.UserHomeDir()
	real, err := findRuntime("", os.Getenv, home)
	if err != nil {
		if os.Getenv("CI") != "true" {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	real, err = filepath.Abs(real)
	if err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	link := filepath.Join(cache, runtimeFile)
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvRuntime, "")
	t.Setenv(EnvModel, "")
	t.Setenv(EnvCache, cache)
	v := load(t)
	if v.RuntimeLibrary() != link {
		t.Errorf("runtime library %q, want %s in $%s", v.RuntimeLibrary(), link, EnvCache)
	}
}

// Without the library anywhere, Load fails with ErrNotInstalled and the
// command that installs it.
func TestLoadWithoutRuntimeNamesTheInstallCommand(t *testing.T) {
	t.Setenv(EnvRuntime, "")
	t.Setenv(EnvCache, "")
	t.Setenv("HOME", t.TempDir())
	_, err := Load()
	if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), InstallCommand) {
		t.Errorf("Load = %v, want ErrNotInstalled naming %q", err, InstallCommand)
	}
}
