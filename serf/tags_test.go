package serf

import (
	"bytes"
	"github.com/openserf/serf/internal/testutil/golden"
	"reflect"
	"testing"
)

func TestTagsEncodeGolden(t *testing.T) {
	for _, tt := range []struct {
		golden   string
		protocol uint8
		tags     map[string]string
	}{
		{"tags_meta", 5, map[string]string{"role": "web"}},
		{"tags_meta", 3, map[string]string{"role": "web"}},
		{"tags_empty", 5, map[string]string{}},
		// Serf encodes a never-nil map, so no tags is ff 80, not ff c0.
		{"tags_empty", 4, nil},
	} {
		want := golden.Read(t, tt.golden)
		got, err := encodeTags(tt.protocol, tt.tags)
		if err != nil {
			t.Fatalf("encodeTags(%d, %v) error = %v", tt.protocol, tt.tags, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("encodeTags(%d, %v) = % x, want % x", tt.protocol, tt.tags, got, want)
		}
	}
}

func TestTagsEncodeTwoKeys(t *testing.T) {
	// Observed after `serf tags -set a=b`; map order is random, so either
	// order of the two pairs is what Serf would send.
	tags := map[string]string{"role": "web", "a": "b"}
	got, err := encodeTags(5, tags)
	if err != nil {
		t.Fatalf("encodeTags(5, %v) error = %v", tags, err)
	}
	roleFirst := []byte("\xff\x82\xa4role\xa3web\xa1a\xa1b")
	aFirst := []byte("\xff\x82\xa1a\xa1b\xa4role\xa3web")
	if !bytes.Equal(got, roleFirst) && !bytes.Equal(got, aFirst) {
		t.Errorf("encodeTags(5, %v) = % x, want % x or % x", tags, got, roleFirst, aFirst)
	}
	back, err := decodeTags(roleFirst)
	if err != nil {
		t.Fatalf("decodeTags(% x) error = %v", roleFirst, err)
	}
	if !reflect.DeepEqual(back, tags) {
		t.Errorf("decodeTags(% x) = %v, want %v", roleFirst, back, tags)
	}
}

func TestTagsEncodeProtocol2RoleOnly(t *testing.T) {
	for _, tt := range []struct {
		tags map[string]string
		want []byte
	}{
		{map[string]string{"role": "web", "dc": "east"}, []byte("web")},
		{map[string]string{"dc": "east"}, []byte{}},
		{nil, []byte{}},
	} {
		got, err := encodeTags(2, tt.tags)
		if err != nil {
			t.Fatalf("encodeTags(2, %v) error = %v", tt.tags, err)
		}
		if !bytes.Equal(got, tt.want) {
			t.Errorf("encodeTags(2, %v) = % x, want % x", tt.tags, got, tt.want)
		}
	}
}

func TestTagsDecode(t *testing.T) {
	for _, tt := range []struct {
		name string
		meta []byte
		want map[string]string
	}{
		{"tags_meta", golden.Read(t, "tags_meta"), map[string]string{"role": "web"}},
		{"tags_empty", golden.Read(t, "tags_empty"), map[string]string{}},
		{"protocol 2 role", []byte("web"), map[string]string{"role": "web"}},
		// Without the magic byte the whole meta is the role, whatever it is.
		{"non-magic bytes", []byte{0x81, 0xa1, 'a'}, map[string]string{"role": "\x81\xa1a"}},
		{"empty meta", []byte{}, map[string]string{"role": ""}},
		{"nil meta", nil, map[string]string{"role": ""}},
		// Members always have a map, even if a peer encoded a nil one.
		{"nil after magic", []byte{0xff, 0xc0}, map[string]string{}},
	} {
		got, err := decodeTags(tt.meta)
		if err != nil {
			t.Errorf("decodeTags(%s % x) error = %v", tt.name, tt.meta, err)
			continue
		}
		if got == nil {
			t.Errorf("decodeTags(%s % x) = nil map, want %v", tt.name, tt.meta, tt.want)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("decodeTags(%s % x) = %q, want %q", tt.name, tt.meta, got, tt.want)
		}
	}
}

func TestTagsDecodeTruncatedKeepsPartial(t *testing.T) {
	// Two pairs announced, one and a half sent.
	meta := []byte("\xff\x82\xa4role\xa3web\xa1a")
	got, err := decodeTags(meta)
	if err == nil {
		t.Errorf("decodeTags(% x) error = nil, want an error", meta)
	}
	if want := map[string]string{"role": "web"}; !reflect.DeepEqual(got, want) {
		t.Errorf("decodeTags(% x) = %q, want %q", meta, got, want)
	}

	// Only the magic byte: an error and an empty, non-nil map.
	got, err = decodeTags([]byte{0xff})
	if err == nil {
		t.Errorf("decodeTags(ff) error = nil, want an error")
	}
	if got == nil || len(got) != 0 {
		t.Errorf("decodeTags(ff) = %#v, want an empty non-nil map", got)
	}
}

func TestTagsRoundTrip(t *testing.T) {
	tags := map[string]string{"role": "db", "dc": "eu-west", "empty": "", "long": string(bytes.Repeat([]byte("x"), 300))}
	meta, err := encodeTags(5, tags)
	if err != nil {
		t.Fatalf("encodeTags(5, %v) error = %v", tags, err)
	}
	if meta[0] != tagMagicByte {
		t.Errorf("encodeTags(5, ...)[0] = %x, want %x", meta[0], tagMagicByte)
	}
	got, err := decodeTags(meta)
	if err != nil {
		t.Fatalf("decodeTags(encodeTags()) error = %v", err)
	}
	if !reflect.DeepEqual(got, tags) {
		t.Errorf("decodeTags(encodeTags(%v)) = %v, want %v", tags, got, tags)
	}
}

func TestTagsTooLargeMessage(t *testing.T) {
	// The text is Serf's, byte for byte (docs/wire.md, "Tags in node meta").
	const want = "Encoded length of tags exceeds limit of 512 bytes"
	if got := errTagsTooLarge.Error(); got != want {
		t.Errorf("errTagsTooLarge = %q, want %q", got, want)
	}
}
