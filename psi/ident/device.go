package ident

// maxDeviceLen bounds an opaque device id; IMEIs, IDFAs/UUIDs, Android ids
// and vendor fingerprints all fit comfortably.
const maxDeviceLen = 128

// device accepts an opaque id of printable ASCII without spaces, case
// preserved: device ids are compared as issued, and some (base64 tokens)
// are case-sensitive.
func device(raw string) (string, error) {
	if len(raw) > maxDeviceLen {
		return "", fail(Device, ErrLength, "device ids are at most 128 characters")
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] <= ' ' || raw[i] > '~' {
			return "", fail(Device, ErrFormat, "device ids are printable ASCII without spaces")
		}
	}
	return raw, nil
}
