package main

import (
	"testing"
	"time"
)

func TestSweepInterval_Retention(t *testing.T) {
	tests := []struct {
		retention, want time.Duration
	}{
		{DefaultReportRetention, time.Hour}, // a 24th would be 30 h
		{24 * time.Hour, time.Hour},
		{12 * time.Hour, 30 * time.Minute},
		{10 * time.Minute, time.Minute}, // a 24th would be 25 s
		{time.Minute, time.Minute},
		{30 * time.Second, 30 * time.Second}, // under a minute: as often as it is long
		{time.Second, time.Second},
	}
	for _, tt := range tests {
		if got := sweepInterval(tt.retention); got != tt.want {
			t.Errorf("sweepInterval(%s) = %s; want %s", tt.retention, got, tt.want)
		}
	}
}
