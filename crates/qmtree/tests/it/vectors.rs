//! Vectors computed by an independent Python implementation of the
//! documented formulas (pycryptodome's Keccak-256), so that the crate docs
//! are enough to recompute roots and proofs.

use alloy_primitives::{B256, hex, keccak256};
use cairn_qmtree::{EMPTY_ROOT, MemoryTree, Proof, verify_inclusion, verify_range};

/// (leaf count, root) for the chain of leaves below.
const ROOTS: &[(u64, &str)] = &[
    (
        0,
        "f28d766e14bfa9767b97ce2a50d9b632eb10ef9c4aa085943ece3a4fcd5ef287",
    ),
    (
        1,
        "a141734f263d259f1e12fc1fbefd6bc5ba40dd4fff78ff01ac58b06b08b63bf2",
    ),
    (
        2,
        "885c642a87b12b6b8b431ba009692d89f7b0f8516ef143b7a21a2c8607e429b0",
    ),
    (
        3,
        "d521dbd986cad7ae35522fc53c2c09f2c03983412a6d05825e8e90c61bc0a470",
    ),
    (
        4,
        "e6e2702f17c75d13ed01c1677590055ac349903a3d400ceb17bcf682a42d529b",
    ),
    (
        5,
        "4f7cc5ec51247a990a8b649bac88be74f06b62ab78cb4db03a8bc88a8f51e78c",
    ),
    (
        7,
        "226f92641bf37f59741b987c46a7bb093db98fbe771e9cc118196dfc331b189f",
    ),
    (
        8,
        "69062666ed5a7a9f7d6ce572e741a69eda7ec61c0e04774fad3e37c32218caf7",
    ),
    (
        9,
        "ea11de11e33366c3baf41df040f0630bdd686a4d515d63fdcab2d3dbf1cdc996",
    ),
    (
        17,
        "b7aa07b28475af86f54e63d70e90da2ff6f6c3fcc138a8156d645da055ef0033",
    ),
    (
        33,
        "67f077acc46af47f2fb7450095fdf51722b22e69178c0845be40057677e7ea6b",
    ),
    (
        40,
        "f1744d5c6b0515bf21a609bfdefb5c42cd7459bb40b7a5c86d02e50ce875184b",
    ),
];

fn component(tag: &[u8], i: u64) -> B256 {
    keccak256([tag, &i.to_be_bytes()[..]].concat())
}

/// Commits one block per entry of `sizes`, with leaf `i` having components
/// keccak("pre" ‖ i), keccak("chg" ‖ i), keccak("trn" ‖ i) (i as u64 BE).
fn tree(sizes: &[u64]) -> MemoryTree {
    let mut t = MemoryTree::new();
    for (block, &size) in sizes.iter().enumerate() {
        while t.leaf_count() < size {
            let i = t.leaf_count();
            t.append_next(
                component(b"pre", i),
                component(b"chg", i),
                component(b"trn", i),
            )
            .unwrap();
        }
        t.commit_block(block as u64).unwrap();
    }
    t
}

#[test]
fn roots_match_the_python_reference() {
    for &(n, root) in ROOTS {
        let mut t = tree(&[n]);
        let expected = root.parse::<B256>().unwrap();
        if n == 0 {
            assert_eq!(expected, EMPTY_ROOT);
        }
        assert_eq!(t.root_at(0).unwrap(), expected, "{n} leaves");
        assert_eq!(t.current_root(), expected);
    }
}

#[test]
fn proofs_match_the_python_reference() {
    // Blocks 0..=6 end at 1, 5, 8, 9, 17, 33, 40 leaves.
    let t = tree(&[1, 5, 8, 9, 17, 33, 40]);
    let cases = [
        (
            t.proof(5, 3).unwrap().to_bytes(),
            "010000000000000005000000000000000991a38441913326b6744b6b4ef1ba1f4e195d5ebb6aa9814a57c7605592757b9ce0521f5c2789a5844d2f11ebb995d87f92d3e6085b6a6418b95fd1d5fe06eaa164ce00ee1c6ad73d36ee0f640138ada5d7aefc586c3433da00ea815a386578159b35e752f485740c01b44ac9285636b1aa63064e8e9919d7a5ce71312cbe83199b296489f3082b589507e5b0c7c5c9cd5754f96a83eb9f355b31d84c5e76a112",
        ),
        (
            t.proof(0, 0).unwrap().to_bytes(),
            "01000000000000000000000000000000018e9ba6bbbca7f7f3203077794e685d550c9b16ad0690054dd95c2d34d03c0862",
        ),
        (
            t.proof(39, 6).unwrap().to_bytes(),
            "0100000000000000270000000000000028cd95557770bff512bd8acc85e3b84584d8d07c90e7d3ee2a5c95fa203d55050068bf7973ed944fb79b2854cd7780001ead032517fcfe4a4f0792b454bdbc1486d8909b9bb7ca365f483db4bed21f38022e6b5fc317f004874a0bf1c53b4fe366fcc40f6ecf691121a54cc7d9c12f70d44da98c2252102f9c4957b64d56a94e800cc3c96348d962ba7d2dd2f92c71085c1101497864c8272f860390cf78b8e723",
        ),
        (
            t.range_proof(1, 4).unwrap().to_bytes(),
            "0200000000000000050000000000000011e0521f5c2789a5844d2f11ebb995d87f92d3e6085b6a6418b95fd1d5fe06eaa19b35e752f485740c01b44ac9285636b1aa63064e8e9919d7a5ce71312cbe831991a38441913326b6744b6b4ef1ba1f4e195d5ebb6aa9814a57c7605592757b9c64ce00ee1c6ad73d36ee0f640138ada5d7aefc586c3433da00ea815a386578157afbb5e3d645ae08ca59bc5071c55985cc4881ff43c5c06b3e06acc5f93e69a32efd4d8558d733b39d8474d01218888e679e76e0d0ec932bbdb8f09ed6778852",
        ),
        (
            t.range_proof(2, 5).unwrap().to_bytes(),
            "020000000000000008000000000000002181ad0f20bf64fa45bdd9b9d5dd466995aba305cba5661304b397883ecbf8b466e7b3cad027f5504c2b0a7fcd75b85b4c667a047e19aebf203e0ae5e0b934b28f5912ee4fd9a929afb93817bacd99c3d7146cb4ba6a7a98a89322c5cc025b4f3526566896b55849f0818d4147a96de5d875a78345c78fa363b715b9ed71ee2c77cf7d3c2ecf0269273d1038e9fdf5a7554ab0effcef2980d35a88dfbfd9b87ad19a6d2a6d816be95d7396b5d62aa6867f275aadcf147d7c103dd05b4bd28eea7e1f5094b089a710886dc9c006bf7bdd97bbd01bab36e22ce83dd4bad2f2712030",
        ),
    ];
    for (got, want) in cases {
        assert_eq!(hex::encode(&got), want);
    }
    let Proof::Inclusion(p) = Proof::from_bytes(&hex::decode(cases_hex(0)).unwrap()).unwrap()
    else {
        panic!("not an inclusion proof")
    };
    verify_inclusion(&p, &t.root_at(3).unwrap()).unwrap();
    let Proof::Range(r) = Proof::from_bytes(&hex::decode(cases_hex(1)).unwrap()).unwrap() else {
        panic!("not a range proof")
    };
    verify_range(&r, &t.root_at(1).unwrap(), &t.root_at(4).unwrap()).unwrap();
}

fn cases_hex(i: usize) -> &'static str {
    [
        "010000000000000005000000000000000991a38441913326b6744b6b4ef1ba1f4e195d5ebb6aa9814a57c7605592757b9ce0521f5c2789a5844d2f11ebb995d87f92d3e6085b6a6418b95fd1d5fe06eaa164ce00ee1c6ad73d36ee0f640138ada5d7aefc586c3433da00ea815a386578159b35e752f485740c01b44ac9285636b1aa63064e8e9919d7a5ce71312cbe83199b296489f3082b589507e5b0c7c5c9cd5754f96a83eb9f355b31d84c5e76a112",
        "0200000000000000050000000000000011e0521f5c2789a5844d2f11ebb995d87f92d3e6085b6a6418b95fd1d5fe06eaa19b35e752f485740c01b44ac9285636b1aa63064e8e9919d7a5ce71312cbe831991a38441913326b6744b6b4ef1ba1f4e195d5ebb6aa9814a57c7605592757b9c64ce00ee1c6ad73d36ee0f640138ada5d7aefc586c3433da00ea815a386578157afbb5e3d645ae08ca59bc5071c55985cc4881ff43c5c06b3e06acc5f93e69a32efd4d8558d733b39d8474d01218888e679e76e0d0ec932bbdb8f09ed6778852",
    ][i]
}
