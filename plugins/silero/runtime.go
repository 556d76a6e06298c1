package silero

import (
	"errors"
	"fmt"
	"os"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// Environment variables naming the two files this package needs at run
// time; scripts/setup.sh sets both after fetching them into its cache.
const (
	EnvModel   = "SILERO_VAD_MODEL" // path to silero_vad.onnx (v5)
	EnvRuntime = "ONNXRUNTIME_LIB"  // path to libonnxruntime.so.1 (1.24 or later)
)

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
// checks that a regular file is there.
func resolve(what, given, env string) (string, error) {
	p := given
	if p == "" {
		p = os.Getenv(env)
	}
	if p == "" {
		return "", fmt.Errorf("%w: %s: no path given and $%s is unset (run scripts/setup.sh, or pass it as an option)", ErrNotInstalled, what, env)
	}
	st, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("%w: %s: %v", ErrNotInstalled, what, err)
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("%w: %s: %s is not a regular file", ErrNotInstalled, what, p)
	}
	return p, nil
}
