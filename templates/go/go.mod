module bank

go 1.21

require (
	google.golang.org/grpc v1.66.0
	google.golang.org/protobuf v1.34.2
)
