// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// @title HistoryFixture
/// @notice The contract cairn-history's tests prove values of on anvil: plain storage, a
///         mapping(address => uint), a nested mapping(address => mapping(uint => bytes32)),
///         a mapping(string => uint), and an event.
contract HistoryFixture {
    uint256 public plain; // slot 0
    mapping(address => uint256) public balances; // slot 1
    mapping(address => mapping(uint256 => bytes32)) public notes; // slot 2
    mapping(string => uint256) public scores; // slot 3

    event Noted(address indexed who, uint256 indexed key, bytes32 value, string memo);

    function setPlain(uint256 value) external {
        plain = value;
    }

    function setBalance(address who, uint256 value) external {
        balances[who] = value;
    }

    function setNote(address who, uint256 key, bytes32 value, string calldata memo) external {
        notes[who][key] = value;
        emit Noted(who, key, value, memo);
    }

    function setScore(string calldata name, uint256 value) external {
        scores[name] = value;
    }
}
