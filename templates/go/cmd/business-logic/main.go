// Command business-logic serves the account domain's business logic (evented.BusinessLogic).
//
//	go run ./cmd/business-logic [-port 1737]
//
// $SNAPSHOT_EVERY (default 10) sets how often it returns a snapshot.
package main

import (
	"flag"
	"log"

	"google.golang.org/grpc"

	"bank/gen/evented"
	"bank/internal/businesslogic"
	"bank/internal/server"
)

func main() {
	port := server.PortFlag(1737)
	flag.Parse()
	logic := &businesslogic.Server{SnapshotEvery: uint32(server.EnvInt("SNAPSHOT_EVERY", 10))}
	err := server.Run("account business logic", server.Address(*port), func(s *grpc.Server) {
		evented.RegisterBusinessLogicServer(s, logic)
	})
	if err != nil {
		log.Fatal(err)
	}
}
