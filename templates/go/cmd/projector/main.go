// Command projector serves the accounts projector (evented.Projector).
//
//	go run ./cmd/projector [-port 1738]
//
// $READ_MODEL (default read-model/accounts.json) is the file it keeps the read model in.
package main

import (
	"flag"
	"log"
	"os"

	"google.golang.org/grpc"

	"bank/gen/evented"
	"bank/internal/projector"
	"bank/internal/server"
)

func main() {
	port := server.PortFlag(1738)
	flag.Parse()
	path := os.Getenv("READ_MODEL")
	if path == "" {
		path = "read-model/accounts.json"
	}
	model, err := projector.OpenReadModel(path)
	if err != nil {
		log.Fatal(err)
	}
	err = server.Run("accounts projector", server.Address(*port), func(s *grpc.Server) {
		evented.RegisterProjectorServer(s, projector.NewServer(model))
	})
	if err != nil {
		log.Fatal(err)
	}
}
