// Package projector serves the accounts projector as evented.Projector: it keeps the accounts read model, a
// JSON file of every account's owner and balance, up to date.
package projector

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"bank/gen/evented"
	"bank/internal/account"
)

// View is one account as the read model shows it.
type View struct {
	account.State
	// Sequence is the sequence of the last event applied.
	Sequence int64 `json:"sequence"`
}

// ReadModel is every account by id. Each account remembers the sequence of the last event applied to it,
// saved in the same write, so that an event delivered twice (evented delivers at least once) is applied once.
// It is not safe for concurrent use.
type ReadModel struct {
	path     string
	accounts map[string]View
}

// OpenReadModel reads the read model kept in the file at path; a missing file is an empty read model.
func OpenReadModel(path string) (*ReadModel, error) {
	m := &ReadModel{path: path, accounts: map[string]View{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &m.accounts); err != nil {
		return nil, fmt.Errorf("read model %s: %w", path, err)
	}
	return m, nil
}

// Get returns the account with this id.
func (m *ReadModel) Get(id string) (View, bool) {
	v, ok := m.accounts[id]
	return v, ok
}

// Apply applies the book's pages not applied yet and returns how many were new.
func (m *ReadModel) Apply(book *evented.EventBook) int {
	id := account.IDString(book.GetCover().GetRoot().GetValue())
	view, ok := m.accounts[id]
	if !ok {
		view.Sequence = -1
	}
	applied := 0
	for _, page := range book.GetPages() {
		num, ok := page.GetSequence().(*evented.EventPage_Num)
		if !ok || int64(num.Num) <= view.Sequence {
			continue
		}
		if e, ok := account.UnpackEvent(page.GetEvent()); ok {
			view.State = account.Evolve(view.State, e)
		}
		view.Sequence = int64(num.Num)
		applied++
	}
	m.accounts[id] = view
	return applied
}

// Reset forgets every account (before a rebuild replays every event).
func (m *ReadModel) Reset() {
	m.accounts = map[string]View{}
}

// Save writes the file atomically: a crash leaves the old or the new version, never half of one.
func (m *ReadModel) Save() error {
	data, err := json.Marshal(m.accounts)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(m.path), 0o755); err != nil {
		return err
	}
	tmp := m.path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, m.path)
}
