package inference

import (
	"encoding/binary"
)

// pcmBytes encodes samples as little-endian int16.
func pcmBytes(s []int16) []byte {
	b := make([]byte, 2*len(s))
	for i, v := range s {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
	}
	return b
}

// pcmSamples decodes little-endian int16; an odd last byte is ignored (the
// caller carries it).
func pcmSamples(b []byte) []int16 {
	s := make([]int16, len(b)/2)
	for i := range s {
		s[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return s
}
