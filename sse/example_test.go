package sse_test

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/tocsin/tocsin/geo"
	"github.com/tocsin/tocsin/sse"
)

func ExampleFrame() {
	fmt.Printf("%s", sse.Frame(42, "alert", []byte("{\"headline\":\"Flood warning\"}")))
	fmt.Printf("%q\n", sse.Frame(43, "alert", []byte("line one\nline two")))
	// Output:
	// id: 42
	// event: alert
	// data: {"headline":"Flood warning"}
	//
	// "id: 43\nevent: alert\ndata: line one\ndata: line two\n\n"
}

func ExampleBroker() {
	b := sse.NewBroker(sse.Config{})
	defer b.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// tocsin's HTTP layer reads the area and languages from the query.
		area := geo.Shape{Circle: &geo.Circle{Lat: 39.7392, Lon: -104.9903, RadiusKM: 2}}
		b.Serve(w, r, sse.Stream{Area: area, Langs: []string{"es", "en"}}, nil)
	}))
	defer srv.Close()

	resp, err := http.Get(srv.URL)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body := bufio.NewReader(resp.Body)
	for range 3 { // the preamble: retry, a comment, a blank line
		if _, err := body.ReadString('\n'); err != nil {
			panic(err)
		}
	}

	city := []geo.Shape{{Circle: &geo.Circle{Lat: 39.74, Lon: -104.99, RadiusKM: 10}}}
	fmt.Println("would reach:", b.Count(city))
	n := b.Publish(1, city, func(langs []string) []byte {
		// Render the alert once for each language list.
		return sse.Frame(1, "alert", []byte(`{"lang":"`+langs[0]+`","headline":"Aviso de inundación"}`))
	})
	fmt.Println("reached:", n)
	for range 4 {
		line, err := body.ReadString('\n')
		if err != nil {
			panic(err)
		}
		fmt.Print(line)
	}
	// Output:
	// would reach: 1
	// reached: 1
	// id: 1
	// event: alert
	// data: {"lang":"es","headline":"Aviso de inundación"}
	//
}
