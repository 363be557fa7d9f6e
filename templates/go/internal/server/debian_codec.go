//go:build debiangrpc

package server

// Built only with -tags debiangrpc, for Debian 12's packaged gRPC-Go (1.33), whose own codec encodes messages
// with github.com/golang/protobuf v1.3 and cannot handle the messages today's protoc-gen-go generates. With
// the grpc version go.mod requires this file is not needed: grpc's codec already does what it does.

import (
	"fmt"

	"google.golang.org/grpc/encoding"
	"google.golang.org/protobuf/proto"
)

type protoCodec struct{}

func (protoCodec) Marshal(v interface{}) ([]byte, error) {
	m, ok := v.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("cannot marshal %T: not a protobuf message", v)
	}
	return proto.Marshal(m)
}

func (protoCodec) Unmarshal(data []byte, v interface{}) error {
	m, ok := v.(proto.Message)
	if !ok {
		return fmt.Errorf("cannot unmarshal into %T: not a protobuf message", v)
	}
	return proto.Unmarshal(data, m)
}

func (protoCodec) Name() string { return "proto" }

// Replaces the "proto" codec grpc registered when its package was initialised (before this one).
func init() { encoding.RegisterCodec(protoCodec{}) }
