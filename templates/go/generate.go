// Package bank is a bank account on evented: the account domain (internal/account) served as three gRPC
// services (cmd/business-logic, cmd/projector, cmd/saga). evented stores, publishes and delivers the events.
package bank

// go generate ./... writes gen/evented and gen/account/v1 from proto/ (protoc, protoc-gen-go, protoc-gen-go-grpc).
//go:generate protoc -I proto --go_out=. --go_opt=module=bank --go_opt=Mevented/evented.proto=bank/gen/evented;evented --go_opt=Maccount/v1/account.proto=bank/gen/account/v1;accountv1 evented/evented.proto account/v1/account.proto
//go:generate protoc -I proto --go-grpc_out=. --go-grpc_opt=module=bank --go-grpc_opt=Mevented/evented.proto=bank/gen/evented;evented evented/evented.proto
