package cap_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/tocsin/tocsin"
	"github.com/tocsin/tocsin/cap"
	"github.com/tocsin/tocsin/geo"
)

func ExampleMarshal() {
	sent := time.Date(2025, 3, 14, 9, 26, 53, 0, time.UTC)
	a := &tocsin.Alert{
		ID: "alr_2", Sender: "alerts@tocsin.example", Sent: sent,
		Status: "Actual", MsgType: "Update", Scope: "Public",
		References: []string{"alr_1"},
		Infos: []tocsin.Info{{
			Language: "en", Category: tocsin.CategoryList{"Met"}, Event: "Flash flood",
			Urgency: "Immediate", Severity: "Severe", Certainty: "Observed",
			Headline: "Flooding spreads east", Provenance: "human",
		}},
		Areas: []tocsin.Area{{Description: "Downtown", Circle: &geo.Circle{Lat: 39.7392, Lon: -104.9903, RadiusKM: 5}}},
	}
	doc, err := cap.Marshal(a, cap.ExportOptions{
		LookupReference: func(id string) (string, time.Time, error) {
			return "alerts@tocsin.example", sent.Add(-time.Hour), nil // from the store, in real use
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(string(doc))
	// Output:
	// <?xml version="1.0" encoding="UTF-8"?>
	// <alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
	//   <identifier>alr_2</identifier>
	//   <sender>alerts@tocsin.example</sender>
	//   <sent>2025-03-14T09:26:53-00:00</sent>
	//   <status>Actual</status>
	//   <msgType>Update</msgType>
	//   <scope>Public</scope>
	//   <references>alerts@tocsin.example,alr_1,2025-03-14T08:26:53-00:00</references>
	//   <info>
	//     <language>en</language>
	//     <category>Met</category>
	//     <event>Flash flood</event>
	//     <urgency>Immediate</urgency>
	//     <severity>Severe</severity>
	//     <certainty>Observed</certainty>
	//     <headline>Flooding spreads east</headline>
	//     <parameter>
	//       <valueName>tocsin:provenance</valueName>
	//       <value>human</value>
	//     </parameter>
	//     <area>
	//       <areaDesc>Downtown</areaDesc>
	//       <circle>39.7392,-104.9903 5</circle>
	//     </area>
	//   </info>
	// </alert>
}

func ExampleParse() {
	doc := `<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>KSTO1055887203</identifier>
  <sender>KSTO@NWS.NOAA.GOV</sender>
  <sent>2003-06-17T14:57:00-07:00</sent>
  <status>Actual</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <category>Met</category>
    <event>SEVERE THUNDERSTORM</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>
    <area>
      <areaDesc>TUOLUMNE COUNTY</areaDesc>
      <polygon>38.47,-120.14 38.34,-119.95 38.52,-119.74 38.62,-119.89 38.47,-120.14</polygon>
      <geocode><valueName>SAME</valueName><value>006109</value></geocode>
    </area>
  </info>
</alert>`
	a, err := cap.Parse([]byte(doc))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(a.Sender, a.ID, a.Sent.Format(time.RFC3339))
	fmt.Println(a.Infos[0].Language, a.Infos[0].Event, len(a.Areas[0].Polygon), "points", a.Areas[0].Geocodes)

	_, err = cap.Parse([]byte(strings.Replace(doc, "38.47,-120.14<", "38.5,-120.1<", 1)))
	fmt.Println(tocsin.ErrorCode(err), tocsin.ErrorMessage(err))
	// Output:
	// KSTO@NWS.NOAA.GOV KSTO1055887203 2003-06-17T14:57:00-07:00
	// en-US SEVERE THUNDERSTORM 5 points map[SAME:006109]
	// invalid CAP line 17, <alert/info[1]/area[1]/polygon[1]>: polygon is not closed: the first point 38.47,-120.14 differs from the last 38.5,-120.1
}

func ExampleParseReference() {
	r, err := cap.ParseReference("KSTO@NWS.NOAA.GOV,KSTO1055887203,2003-06-17T14:57:00-07:00")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Sender, r.Identifier, r.Sent.UTC())
	// Output: KSTO@NWS.NOAA.GOV KSTO1055887203 2003-06-17 21:57:00 +0000 UTC
}
