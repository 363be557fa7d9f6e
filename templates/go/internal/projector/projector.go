package projector

import (
	"context"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"bank/gen/evented"
	"bank/internal/account"
)

// Name is the projector's name in its projections.
const Name = "accounts"

// Server is the accounts projector. Every call is saved before it is answered, so an acknowledged event is
// never lost by a crash; a call whose save failed is answered with an error, and evented delivers it again.
type Server struct {
	evented.UnimplementedProjectorServer
	mu    sync.Mutex // gRPC calls arrive concurrently
	model *ReadModel
}

// NewServer returns a projector that keeps model.
func NewServer(model *ReadModel) *Server {
	return &Server{model: model}
}

func (s *Server) apply(books ...*evented.EventBook) error {
	applied := 0
	for _, book := range books {
		applied += s.model.Apply(book)
	}
	if applied == 0 {
		return nil
	}
	if err := s.model.Save(); err != nil {
		return status.Errorf(codes.Unavailable, "saving the read model: %v", err)
	}
	return nil
}

// Handle applies one book.
func (s *Server) Handle(_ context.Context, book *evented.EventBook) (*emptypb.Empty, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &emptypb.Empty{}, s.apply(book)
}

// HandleBatch applies many books in one call.
func (s *Server) HandleBatch(_ context.Context, batch *evented.EventBatch) (*emptypb.Empty, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &emptypb.Empty{}, s.apply(batch.GetBooks()...)
}

// Reset forgets the read model before a rebuild.
func (s *Server) Reset(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.model.Reset()
	if err := s.model.Save(); err != nil {
		return nil, status.Errorf(codes.Unavailable, "saving the read model: %v", err)
	}
	return &emptypb.Empty{}, nil
}

// HandleSync applies one book and answers with the account as it is now.
func (s *Server) HandleSync(_ context.Context, book *evented.EventBook) (*evented.Projection, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.apply(book); err != nil {
		return nil, err
	}
	projection := &evented.Projection{Cover: book.GetCover(), Projector: Name}
	if view, ok := s.model.Get(account.IDString(book.GetCover().GetRoot().GetValue())); ok {
		if view.Sequence > 0 {
			projection.Sequence = uint32(view.Sequence)
		}
		projection.Projection = account.PackState(view.State)
	}
	return projection, nil
}
