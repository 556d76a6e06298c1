package silero

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// Environment variables that override where this package finds its files.
// Neither is needed where scripts/setup.sh ran: the model is embedded, and
// the runtime library is looked up in setup.sh's cache directory.
const (
	EnvModel   = "SILERO_VAD_MODEL" // path to a silero_vad.onnx (v5) to load instead of the embedded one
	EnvRuntime = "ONNXRUNTIME_LIB"  // path to libonnxruntime.so.1 (1.24 or later)
	EnvCache   = "LKGO_CACHE"       // scripts/setup.sh's cache directory (default ~/.cache/livekit-go-agents)
)

// InstallCommand is the command, run from the repository's root, that
// installs the ONNX Runtime library where [Load] looks for it.
const InstallCommand = "bash scripts/setup.sh"

// runtimeFile is the library's path under the cache directory, where
// scripts/setup.sh's setup_local_speech puts it.
const runtimeFile = "silero/libonnxruntime.so.1"

// ErrNotInstalled is wrapped by [Load] when the model or the ONNX Runtime
// library cannot be found. Tests and callers can branch on it.
var ErrNotInstalled = errors.New("silero: not installed")

// The ONNX Runtime environment is process-global in onnxruntime_go. We
// initialize it on the first Load and destroy it when the last VAD closes,
// unless someone else in the process initialized it first.
var (
	envMu    sync.Mutex
	envRefs  int
	envOwned bool
	envLib   string
)

func acquireRuntime(lib string) error {
	envMu.Lock()
	defer envMu.Unlock()
	if envRefs > 0 {
		if envOwned && lib != envLib {
			return fmt.Errorf("silero: runtime library: %s requested while %s is loaded", lib, envLib)
		}
		envRefs++
		return nil
	}
	if ort.IsInitialized() {
		envOwned = false
	} else {
		ort.SetSharedLibraryPath(lib)
		if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
			return fmt.Errorf("silero: loading ONNX Runtime from %s: %w", lib, err)
		}
		envOwned = true
		envLib = lib
	}
	envRefs = 1
	return nil
}

func releaseRuntime() error {
	envMu.Lock()
	defer envMu.Unlock()
	if envRefs == 0 {
		return nil
	}
	envRefs--
	if envRefs > 0 || !envOwned {
		return nil
	}
	envOwned = false
	if err := ort.DestroyEnvironment(); err != nil {
		return fmt.Errorf("silero: closing ONNX Runtime: %w", err)
	}
	return nil
}

// resolve picks a path from the option, else the environment variable, and
// checks that a regular file is there. It returns "" when neither is set.
func resolve(what, given, env string) (string, error) {
	p := given
	if p == "" {
		p = os.Getenv(env)
	}
	if p == "" {
		return "", nil
	}
	if err := regularFile(p); err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrNotInstalled, what, err)
	}
	return p, nil
}

func regularFile(p string) error {
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", p)
	}
	return nil
}

// cacheDirs are the directories scripts/setup.sh may have installed into:
// $LKGO_CACHE when set, then its default, ~/.cache/livekit-go-agents.
func cacheDirs(getenv func(string) string, home string) []string {
	var dirs []string
	if d := getenv(EnvCache); d != "" {
		dirs = append(dirs, d)
	}
	if home != "" {
		dirs = append(dirs, filepath.Join(home, ".cache", "livekit-go-agents"))
	}
	return dirs
}

// findRuntime is the ONNX Runtime library to load: the option's path, else
// $ONNXRUNTIME_LIB, else the first cache directory that holds it. When none
// does, the error is one line that says where it looked and which command
// installs it.
func findRuntime(given string, getenv func(string) string, home string) (string, error) {
	p := given
	if p == "" {
		p = getenv(EnvRuntime)
	}
	if p != "" {
		if err := regularFile(p); err != nil {
			return "", fmt.Errorf("%w: ONNX Runtime library: %v", ErrNotInstalled, err)
		}
		return p, nil
	}
	var looked []string
	for _, d := range cacheDirs(getenv, home) {
		c := filepath.Join(d, runtimeFile)
		if regularFile(c) == nil {
			return c, nil
		}
		looked = append(looked, c)
	}
	where := "$" + EnvRuntime + " is unset"
	if len(looked) > 0 {
		where += ", and there is none at " + strings.Join(looked, " or ")
	}
	return "", fmt.Errorf("%w: ONNX Runtime library not found (%s): install it with `%s` from the repository's root, or set $%s", ErrNotInstalled, where, InstallCommand, EnvRuntime)
}
