// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

/// TEST AND BENCH ONLY: measures the execution gas of a call inside the EVM (no intrinsic or
/// calldata cost), e.g. `eth_call` of `probe(rollup, verifyBindingCalldata)`. The figure
/// includes the call itself (a cold account access, 2,600 gas, and the calldata copy).
contract GasProbe {
    function probe(address target, bytes calldata data)
        external
        returns (uint256 gasUsed, bool ok, bytes memory result)
    {
        uint256 before = gasleft();
        (ok, result) = target.call(data);
        gasUsed = before - gasleft();
    }
}
