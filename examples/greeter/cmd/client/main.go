// Command client asks the server for a greeting.
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
)

var version = "dev"

func main() {
	addr := flag.String("addr", "127.0.0.1:3000", "server address")
	name := flag.String("name", "", "who is asking")
	showVersion := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if *showVersion {
		fmt.Println("client", version)
		return
	}
	resp, err := http.Get("http://" + *addr + "/?name=" + *name)
	if err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		os.Exit(1)
	}
	fmt.Println(strings.TrimSpace(string(body)))
}
