package main

import (
	"fmt"
	"net/http"

	"example.com/greeter/internal/greeting"
	"github.com/google/uuid"
)

func newHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", uuid.NewString())
		fmt.Fprintln(w, greeting.For(r.URL.Query().Get("name")))
	})
	mux.HandleFunc("/version", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, version)
	})
	return mux
}
