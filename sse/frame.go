package sse

import (
	"strconv"
	"strings"
)

// Frame encodes one SSE event:
//
//	id: <seq>
//	event: <event>
//	data: <line>
//	<blank line>
//
// with one data: line per line of data, since a field value cannot hold a
// line break (CR, LF and CRLF all end a line in SSE). data is JSON and
// normally one line. The event line is left out when event is empty, which
// clients read as "message"; line breaks in event are dropped.
func Frame(seq int64, event string, data []byte) []byte {
	buf := make([]byte, 0, len(data)+len(event)+40)
	buf = append(buf, "id: "...)
	buf = strconv.AppendInt(buf, seq, 10)
	buf = append(buf, '\n')
	if strings.ContainsAny(event, "\r\n") {
		event = strings.NewReplacer("\r", "", "\n", "").Replace(event)
	}
	if event != "" {
		buf = append(buf, "event: "...)
		buf = append(buf, event...)
		buf = append(buf, '\n')
	}
	for {
		buf = append(buf, "data: "...)
		i := indexLineBreak(data)
		if i < 0 {
			buf = append(buf, data...)
			buf = append(buf, '\n')
			break
		}
		buf = append(buf, data[:i]...)
		buf = append(buf, '\n')
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
	return append(buf, '\n')
}

// indexLineBreak returns the index of the first CR or LF in p, or -1.
func indexLineBreak(p []byte) int {
	for i, c := range p {
		if c == '\r' || c == '\n' {
			return i
		}
	}
	return -1
}
