// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.24;

import {PublicValues, BatchBinding} from "./CairnTypes.sol";

/// Which closing leaf of a binding.
enum BindingSide {
    Before,
    After
}

/// `1 <= leafCountBefore < leafCountAfter` fails.
error BindingLeafCounts(uint64 leafCountBefore, uint64 leafCountAfter);
/// An inclusion proof with another sibling count than the depth of its tree.
error BindingSiblingCount(BindingSide side, uint256 got, uint256 expected);
/// A sibling right of the closing leaf's path is not empty: the leaf is not the last.
error BindingNotLastLeaf(BindingSide side);
/// The closing leaf built from the public values does not hash up to its root.
error BindingLeafNotUnderRoot(BindingSide side);
/// The range proof does not take `rootBefore` to `rootAfter`.
error BindingRange();

/// The QMTree batch binding verifier: bit for bit the rules of the Rust
/// `cairn_prover::BatchBinding::verify` (see that crate's docs), with the same failure in the
/// same order, so that one set of test vectors runs against both.
///
/// `leaf(a, b, c, d) = keccak256(0x00 ‖ a ‖ b ‖ c ‖ d)`, `node(l, r) = keccak256(0x01 ‖ l ‖ r)`,
/// `E[h]` the empty subtree of height `h`, `depth(n) = ceil(log2 n)`.
library QMTreeBinding {
    /// `stateChangeHash` of a closing leaf: `keccak256("cairn.stateChange.v1" ‖ u32(0))`.
    bytes32 internal constant EMPTY_CHANGE_HASH =
        0xcff5e462fb0edad9285818f7b5913461769dcd14ea4d2277f1124ffde34c2a3d;

    /// `E[0] ‖ … ‖ E[64]`: `E[0] = 0`, `E[h + 1] = node(E[h], E[h])`.
    bytes internal constant EMPTY_SUBTREES =
        hex"0000000000000000000000000000000000000000000000000000000000000000"
        hex"c07a1e8b7e0057673fdc2affe190d8a960c5fe615663f27b7ce84f3d93ef92a6"
        hex"fd47517474a597637d54038a0663d1d03b931b238de06b73e3c12cf443de6e8d"
        hex"47a8f5e8fa70be2760378067c9c6d410dd96be07820b4230c11254c7ff10c298"
        hex"aed19ca4bfe2365b1b33fa94744cd0c6a2d550506c7e7efc073879cb79459b9a"
        hex"6e6998a7da8b2db5c98eb853099d8caec63797b5283b7dac37b2ffb630a86e24"
        hex"181c19735bff23b55bc295fc0b60c1c5c7288209b261a08e26924598ce72404e"
        hex"ecb408b290ab2920e63611ef1e8ca964aebb66ea5739f19d24b92094f28e44f8"
        hex"294bf9785e1391d24d52abf915636a73bdaa12ed29e85e21dae14c09d0f2e34b"
        hex"cf7e37a934683edec795e3529db8fac0863519c2419ba24c0f6e4efa86ec7d1a"
        hex"72ce48cca9bc743fed84a0bdc00ad2c5b540323849c982f671a9bd8d52d15719"
        hex"0e2d7d0b695fdcd9dc6c54313ae652218375c3358d34ade3dcc49dda05c0db10"
        hex"a0a786a71d24007a23f5ce21e6997a305baeefaf348937a8b74974cb039c10c8"
        hex"0628cb6496193e6a55ece4a8240384e142273eeb9cc4bdae680f971fd1929f10"
        hex"2c3b833a3ca9d6f02055871655dd18f003a279f84a334bf6050899a9bc1cedc3"
        hex"1a6c5e9fd899efca64c2aca6243434b423d791f92a839c0c92ce0a5a51a07234"
        hex"a9942b0fabdf9bf32241f8245eb26737ffbd91822ac484ae857fc35d21fb652f"
        hex"7e4206a110a8721cc68455c35400b056251398dfcf98b04aeee19549bfd2122f"
        hex"bfb429bfebb3aa270012d8063896d205bfd8ce116e4a304335bd59e9471f9fcc"
        hex"e22fa8fff28cfb1f3664382ced6d3f1d634ef2851c10b1dce18c57c957985bf9"
        hex"d29bf231e30afb5cd1bc01d214e905c60c87533bf967a94877b3843bb0bdef5d"
        hex"146d57f70bcb580465116619359a35ece364f17e8d56524b5eee8bf6b8ebfdf6"
        hex"cdbc0759e847f96beb000c3cc51e30f8b2ccac5dcc5c409fea938a3345f8b603"
        hex"86e4b0792326c35995f1563b0d8f99fc38b0348a356e149c04b2783d5bd4cfb8"
        hex"45965170d4d5afdbc7dd54ef3beb044e3a61bdc1a96a4d31beaaee6b75a3f063"
        hex"b4603e46f0de988e62ff27b69f4d393a18f5ed31ea265fee69e73dc4eeddc902"
        hex"b394b29ffe4175348b892c892e0eee5e565c83ebbe247de17cd9bf999d75d2b7"
        hex"ad44e31db4754e01afbb20b8aceb34ce5ef195a9701a7115326091c4fedb5a44"
        hex"0bf2ca8aa236c35d3e7bd0ba97c8e772194462c90b5bb6caea4774e4100e95ef"
        hex"de0aa4f414066517b910862d802e616c418bf24150940c3b74b46e6a4e84b15a"
        hex"5368cf00e43190f04a959a2bfd87d648b02bb4494a00b755c1198da350e04cdb"
        hex"223c1c9f16dfa65bdc98bd2ff419b6f1c47596c3f1eed71c5a3d3c2a3c33f99b"
        hex"7c1d0e8a93ea9c09cc13b91ead8f72de66a33cb695c30934dc2d75bffac1248e"
        hex"84a5ab13be872cab2b2f255f8bf8c31afede9a2132358af739d6ff5b3d3aba8a"
        hex"7b70a898984258b3a577e2a4f6567485f24ade265b5dc9cdb0b6760717e15c96"
        hex"f97bd2266414b0c1cfd6865b52489a9dc155de0e4b3c2e33b893ea00297e2091"
        hex"928b8aede9f36ae1545d41045217da1a914002fe495eda4a346321ff72f7de75"
        hex"d6a170a7ceb2d7c532b3d67f384e917c93a833dd68901df8f111dd1ea4313109"
        hex"8a51e6a5d37f725795d995a22ba1ae9dc23bee4f8f5b280fa15a38fb31d68d99"
        hex"8e6bf8242229c66c52f0f0952a580ef685a054b75cd845d7e2314142e0773ac4"
        hex"823a8bcce6715a9244cc3a24e801f4a6d30ae32503eb017a568d015e75d1c44e"
        hex"44aa45fba237d98181d5904a354aece2cd758eea6d0c396f70e66ffd2b37fa0f"
        hex"7a20ea3311156ed3f2faf8fbfaf95aed7ac96bbf55ee12307d3759d6d5540436"
        hex"e54d294436d4b4213a699ad812fd463df375b3db025366939cb85bc2bf83ea50"
        hex"907a4ebf668a9886acf0997897267dd0c38121b79eb47d814c6a77654f303b21"
        hex"93850d0bf851fedbab104428ad96595970d66d89cf77e5b3af1a6d36c8a66cea"
        hex"798173e07e824386571518817f182661d2411a714fd068f734379ebcb561d6ab"
        hex"283b54354b6329e9b682abfcb5b049cb2643dd44d1993bab43387286cdeb5457"
        hex"59ebb3237689d0a5ec5019b17cd51ff8c43d39a9e28ccae606b6ca72ca7dbe9d"
        hex"93c04aaeb1ced359292d60725266b292bbcd35fb7bfb5cf31adf2599c280d4fa"
        hex"68ca70cb09d641dd321587099f4fc4621515403fb819e3e10bd2dd7ac99bed65"
        hex"3748729c1ed34445b3ac34c5820252e559fc807b0ad01b939fdc664da906e82f"
        hex"8c4b2526b9b2c8f40ef73b371f68516ded669c2f3865530305a6c966135112fb"
        hex"66502a834cbae36adaa931fa69cf3b871bb2cba0b7b19ef0b32a79749cebc5cc"
        hex"01e3bdddaeb8569387d3393006c7e76b2c1e19a6b34407fe02e84a8b268bd308"
        hex"40476d1e76e3113a51574783fa98fda4d502432fea341018d5750e298f40987d"
        hex"b8e648fd0d85f735d6ca1695744fe1dca29b3e1155602100709832ec77514320"
        hex"c0f826dce87e4334165b2eb337ae090ed4dcc5dfb3d28ced71d2803ca94da2e8"
        hex"6ce61a5a410096df66b1ae34e2d9353d860464391c9388720959243135ed5867"
        hex"a0de83ca5da5011f506c1d0aa7ef4658597046fc2788c8278414c66ddaaf8f5e"
        hex"fbd395a5fce08fa713e444271a888c316821a93dda9be4ab363e38c4aa00e9bf"
        hex"772aaacc6e04eed663748254af6b5786203c50864e1a795299e2c192f9fc9e1c"
        hex"fc61e5bbe91ee3842bb115181dc0c0384c4d1523669d4cc79f1b3ebeb03023a8"
        hex"503263743bfa5b3fd2f84236038b900617fb270f647e416f4dfbad721ce3dd82"
        hex"a82b408e2e0c2ad922f3092f9af18b07986707e1fa6fc1668b3fcc4b58db57af";

    /// Checks `binding` against `pv`; reverts with the failed rule. The caller compares
    /// `rootBefore` and `rootAfter` with the roots it trusts.
    function verify(PublicValues calldata pv, BatchBinding calldata binding) internal pure {
        uint64 before = binding.leafCountBefore;
        uint64 after_ = binding.leafCountAfter;
        if (before == 0 || before >= after_) revert BindingLeafCounts(before, after_);
        bytes memory empty = EMPTY_SUBTREES;
        checkClosing(
            closingLeaf(pv.initialStateRoot, pv.parentHash, binding.previousLeafBefore),
            before,
            binding.siblingsBefore,
            binding.rootBefore,
            BindingSide.Before,
            empty
        );
        checkClosing(
            closingLeaf(pv.finalStateRoot, pv.lastBlockHash, binding.previousLeafAfter),
            after_,
            binding.siblingsAfter,
            binding.rootAfter,
            BindingSide.After,
            empty
        );
        if (!range(before, after_, binding.rangeNodes, binding.rootBefore, binding.rootAfter, empty)) {
            revert BindingRange();
        }
    }

    /// The closing leaf of a block: `leaf(stateRoot, EMPTY_CHANGE_HASH, blockHash, previous)`.
    function closingLeaf(bytes32 stateRoot, bytes32 blockHash, bytes32 previous)
        internal
        pure
        returns (bytes32 h)
    {
        bytes32 change = EMPTY_CHANGE_HASH;
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore8(p, 0x00)
            mstore(add(p, 1), stateRoot)
            mstore(add(p, 33), change)
            mstore(add(p, 65), blockHash)
            mstore(add(p, 97), previous)
            h := keccak256(p, 129)
        }
    }

    /// `ceil(log2 n)`, 0 for `n <= 1`.
    function depth(uint256 n) internal pure returns (uint256 d) {
        assembly ("memory-safe") {
            // Bit length of n - 1 (n is below 2^64), by halving.
            if gt(n, 1) {
                let x := sub(n, 1)
                if gt(x, 0xffffffff) { x := shr(32, x) d := 32 }
                if gt(x, 0xffff) { x := shr(16, x) d := add(d, 16) }
                if gt(x, 0xff) { x := shr(8, x) d := add(d, 8) }
                if gt(x, 0xf) { x := shr(4, x) d := add(d, 4) }
                if gt(x, 0x3) { x := shr(2, x) d := add(d, 2) }
                if gt(x, 0x1) { x := shr(1, x) d := add(d, 1) }
                d := add(d, x)
            }
        }
    }

    // The loops below are in assembly: the same rules as the Solidity they replace, without
    // its per-step bounds and overflow checks (indices stay below the lengths checked first;
    // leaf counts are below 2^64, so no shift or sum overflows 256 bits). The shared vectors
    // check them against the Rust verifier.

    /// The closing leaf is the last of a tree of `count` leaves with root `root`: `depth(count)`
    /// siblings, every sibling right of the path empty, and the path hashes to `root`.
    function checkClosing(
        bytes32 leaf,
        uint256 count,
        bytes32[] calldata siblings,
        bytes32 root,
        BindingSide side,
        bytes memory empty
    ) private pure {
        uint256 d = depth(count);
        if (siblings.length != d) revert BindingSiblingCount(side, siblings.length, d);
        bool last;
        bytes32 x;
        assembly ("memory-safe") {
            let t := sub(count, 1)
            let p := mload(0x40)
            let table := add(empty, 32)
            let off := siblings.offset
            last := 1
            x := leaf
            mstore8(p, 0x01)
            for { let h := 0 } lt(h, d) { h := add(h, 1) } {
                let s := calldataload(add(off, shl(5, h)))
                switch and(shr(h, t), 1)
                case 1 {
                    mstore(add(p, 1), s)
                    mstore(add(p, 33), x)
                }
                default {
                    if iszero(eq(s, mload(add(table, shl(5, h))))) { last := 0 }
                    mstore(add(p, 1), x)
                    mstore(add(p, 33), s)
                }
                x := keccak256(p, 65)
            }
        }
        if (!last) revert BindingNotLastLeaf(side);
        if (leaf == bytes32(0) || x != root) revert BindingLeafNotUnderRoot(side);
    }

    /// The range proof from `old` to `new_` leaves (`1 <= old < new_`): the old tree's frontier
    /// (one node per set bit of `old`, ascending), leaf `old` of the new tree, then the right
    /// siblings of its path that hold leaves; `cairn_qmtree::verify_range`.
    function range(
        uint256 old,
        uint256 new_,
        bytes32[] calldata nodes,
        bytes32 rootBefore,
        bytes32 rootAfter,
        bytes memory empty
    ) private pure returns (bool) {
        uint256 frontier;
        uint256 right;
        uint256 dNew = depth(new_);
        assembly ("memory-safe") {
            for { let v := old } v { v := and(v, sub(v, 1)) } { frontier := add(frontier, 1) }
            for { let h := 0 } lt(h, dNew) { h := add(h, 1) } {
                // A right sibling at level h: bit h of old is 0 and the node right of the path
                // holds leaves of the new tree.
                right := add(right, and(iszero(and(shr(h, old), 1)), lt(shl(h, add(shr(h, old), 1)), new_)))
            }
        }
        if (nodes.length != frontier + 1 + right) return false;
        if (oldTop(old, nodes, empty) != rootBefore) return false;
        return newTop(old, new_, nodes, frontier, empty) == rootAfter;
    }

    /// The root of the tree of `old` leaves from its frontier (`nodes[0..]`).
    function oldTop(uint256 old, bytes32[] calldata nodes, bytes memory empty)
        private
        pure
        returns (bytes32 top)
    {
        if (old & (old - 1) == 0) return nodes[0];
        uint256 dOld = depth(old);
        assembly ("memory-safe") {
            let p := mload(0x40)
            let table := add(empty, 32)
            let off := nodes.offset
            mstore8(p, 0x01)
            let low := 0
            for {} iszero(and(shr(low, old), 1)) {} { low := add(low, 1) }
            top := mload(add(table, shl(5, low)))
            let f := 0
            for { let h := low } lt(h, dOld) { h := add(h, 1) } {
                switch and(shr(h, old), 1)
                case 1 {
                    mstore(add(p, 1), calldataload(add(off, shl(5, f))))
                    mstore(add(p, 33), top)
                    f := add(f, 1)
                }
                default {
                    mstore(add(p, 1), top)
                    mstore(add(p, 33), mload(add(table, shl(5, h))))
                }
                top := keccak256(p, 65)
            }
        }
    }

    /// The new root: the walk up from leaf `old` (`nodes[frontier]`), left siblings from the
    /// old frontier, right siblings from the proof or empty.
    function newTop(
        uint256 old,
        uint256 new_,
        bytes32[] calldata nodes,
        uint256 frontier,
        bytes memory empty
    ) private pure returns (bytes32 x) {
        uint256 d = depth(new_);
        assembly ("memory-safe") {
            let p := mload(0x40)
            let table := add(empty, 32)
            let off := nodes.offset
            mstore8(p, 0x01)
            x := calldataload(add(off, shl(5, frontier)))
            let f := off
            let r := add(off, shl(5, add(frontier, 1)))
            for { let h := 0 } lt(h, d) { h := add(h, 1) } {
                let o := shr(h, old)
                switch and(o, 1)
                case 1 {
                    mstore(add(p, 1), calldataload(f))
                    mstore(add(p, 33), x)
                    f := add(f, 32)
                }
                default {
                    mstore(add(p, 1), x)
                    switch lt(shl(h, add(o, 1)), new_)
                    case 1 {
                        mstore(add(p, 33), calldataload(r))
                        r := add(r, 32)
                    }
                    default { mstore(add(p, 33), mload(add(table, shl(5, h)))) }
                }
                x := keccak256(p, 65)
            }
        }
    }
}
