// Command saga serves the transfers saga (evented.Saga).
//
//	go run ./cmd/saga [-port 1749]
package main

import (
	"flag"
	"log"

	"google.golang.org/grpc"

	"bank/gen/evented"
	"bank/internal/saga"
	"bank/internal/server"
)

func main() {
	port := server.PortFlag(1749)
	flag.Parse()
	err := server.Run("transfers saga", server.Address(*port), func(s *grpc.Server) {
		evented.RegisterSagaServer(s, saga.Server{})
	})
	if err != nil {
		log.Fatal(err)
	}
}
