import unittest

from account.v1 import account_pb2 as pb
from bank.domain import CommandRejected, InvalidCommand, decide, fold

OTHER = "6f1c2d3e-4b5a-4c6d-8e7f-901234567890"
OPENED = pb.AccountOpened(owner="ada")


def given(*events):
    """given(events...)(command): the events decided on the state the events leave."""
    return lambda command: decide(fold(list(events)), command)


class AccountDomainTest(unittest.TestCase):
    def test_opens_an_account(self):
        self.assertEqual(given()(pb.OpenAccount(owner="ada")), [pb.AccountOpened(owner="ada")])

    def test_refuses_to_open_an_account_twice(self):
        with self.assertRaisesRegex(CommandRejected, "already open"):
            given(OPENED)(pb.OpenAccount(owner="bob"))

    def test_refuses_an_empty_owner(self):
        with self.assertRaises(InvalidCommand):
            given()(pb.OpenAccount(owner=" "))

    def test_deposits_and_withdraws_recording_the_balance(self):
        deposited = pb.MoneyDeposited(amount=100, balance=100)
        self.assertEqual(given(OPENED)(pb.Deposit(amount=100)), [deposited])
        self.assertEqual(
            given(OPENED, deposited)(pb.Withdraw(amount=30)),
            [pb.MoneyWithdrawn(amount=30, balance=70)],
        )

    def test_refuses_a_withdrawal_over_the_balance(self):
        with self.assertRaises(CommandRejected) as refused:
            given(OPENED, pb.MoneyDeposited(amount=10, balance=10))(pb.Withdraw(amount=11))
        self.assertEqual(
            str(refused.exception), "insufficient funds: the balance is 10, the withdrawal is 11"
        )

    def test_refuses_money_on_an_account_not_open_and_amounts_not_positive(self):
        with self.assertRaisesRegex(CommandRejected, "not open"):
            given()(pb.Deposit(amount=5))
        with self.assertRaises(InvalidCommand):
            given(OPENED)(pb.Deposit(amount=0))

    def test_transfers_out_only_what_the_balance_covers_to_a_valid_account_id(self):
        funded = given(OPENED, pb.MoneyDeposited(amount=50, balance=50))
        self.assertEqual(
            funded(pb.TransferMoney(to_account=OTHER, amount=20)),
            [pb.MoneyTransferredOut(to_account=OTHER, amount=20, balance=30)],
        )
        with self.assertRaises(CommandRejected):
            funded(pb.TransferMoney(to_account=OTHER, amount=60))
        with self.assertRaises(InvalidCommand):
            funded(pb.TransferMoney(to_account="bob", amount=5))

    def test_receives_a_transfer(self):
        self.assertEqual(
            given(pb.AccountOpened(owner="bob"))(pb.ReceiveTransfer(from_account=OTHER, amount=20)),
            [pb.TransferReceived(from_account=OTHER, amount=20, balance=20)],
        )


if __name__ == "__main__":
    unittest.main()
