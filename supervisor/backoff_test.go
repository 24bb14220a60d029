package supervisor

import (
	"testing"
	"time"
)

func TestBackoffNext(t *testing.T) {
	const ms = time.Millisecond
	def, err := Backoff{}.withDefaults()
	if err != nil {
		t.Fatalf("withDefaults() error = %v", err)
	}
	tests := []struct {
		name      string
		b         Backoff
		prev, ran time.Duration
		want      time.Duration
	}{
		{"first exit", def, 0, 0, 250 * ms},
		{"doubles", def, 250 * ms, time.Second, 500 * ms},
		{"doubles again", def, 500 * ms, 0, time.Second},
		{"capped", def, 8 * time.Second, 0, 10 * time.Second},
		{"stays at max", def, 10 * time.Second, 0, 10 * time.Second},
		{"long run resets", def, 8 * time.Second, 10 * time.Second, 250 * ms},
		{"just below reset", def, 2 * time.Second, 10*time.Second - 1, 4 * time.Second},
		{"max not a power of two", Backoff{Initial: 3 * ms, Max: 10 * ms, Reset: time.Hour}, 6 * ms, 0, 10 * ms},
		{"huge max does not overflow", Backoff{Initial: ms, Max: 1<<63 - 1, Reset: 1<<63 - 1}, 1 << 62, 0, 1<<63 - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.b.next(tt.prev, tt.ran); got != tt.want {
				t.Errorf("next(%v, %v) = %v, want %v", tt.prev, tt.ran, got, tt.want)
			}
		})
	}
}

func TestBackoffSequence(t *testing.T) {
	b, err := Backoff{}.withDefaults()
	if err != nil {
		t.Fatalf("withDefaults() error = %v", err)
	}
	want := []time.Duration{250e6, 500e6, 1e9, 2e9, 4e9, 8e9, 10e9, 10e9}
	var prev time.Duration
	for i, w := range want {
		prev = b.next(prev, 0)
		if prev != w {
			t.Errorf("delay %d = %v, want %v", i, prev, w)
		}
	}
}

func TestBackoffWithDefaults(t *testing.T) {
	tests := []struct {
		name    string
		in      Backoff
		want    Backoff
		wantErr bool
	}{
		{"zero", Backoff{}, Backoff{250 * time.Millisecond, 10 * time.Second, 10 * time.Second}, false},
		{"initial above default max", Backoff{Initial: time.Minute}, Backoff{time.Minute, time.Minute, 10 * time.Second}, false},
		{"kept", Backoff{1, 2, 3}, Backoff{1, 2, 3}, false},
		{"negative", Backoff{Initial: -1}, Backoff{}, true},
		{"max below initial", Backoff{Initial: time.Second, Max: time.Millisecond}, Backoff{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.in.withDefaults()
			if (err != nil) != tt.wantErr {
				t.Fatalf("withDefaults() error = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && got != tt.want {
				t.Errorf("withDefaults() = %+v, want %+v", got, tt.want)
			}
		})
	}
}
