//! Leaf and node hashing, and the empty-subtree table.

use alloy_primitives::{B256, b256, keccak256_uncached};
use serde::{Deserialize, Serialize};

/// Domain prefix of a leaf preimage (`0x00 ‖ 4 × 32 bytes`, 129 bytes).
pub const LEAF_PREFIX: u8 = 0x00;
/// Domain prefix of an internal-node preimage (`0x01 ‖ left ‖ right`, 65 bytes).
pub const NODE_PREFIX: u8 = 0x01;
/// Length of a leaf preimage: one Keccak-f\[1600\] permutation (rate 136).
pub const LEAF_PREIMAGE_LEN: usize = 129;
/// Length of an internal-node preimage.
pub const NODE_PREIMAGE_LEN: usize = 65;

/// The four components a QMTree leaf commits to.
///
/// The leaf hash is
/// `keccak256(0x00 ‖ pre_state_hash ‖ state_change_hash ‖ transition_hash ‖ previous_leaf_hash)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeafComponents {
    /// State root before the transaction ran.
    pub pre_state_hash: B256,
    /// Canonical hash of exactly the state mutations the transaction made.
    pub state_change_hash: B256,
    /// Commitment to the transaction's full EVM trace.
    pub transition_hash: B256,
    /// Hash of the previous leaf (zero for txNum 0).
    pub previous_leaf_hash: B256,
}

impl LeafComponents {
    /// The 129-byte preimage `0x00 ‖ pre ‖ change ‖ transition ‖ previous`.
    pub fn preimage(&self) -> [u8; LEAF_PREIMAGE_LEN] {
        let mut buf = [0u8; LEAF_PREIMAGE_LEN];
        buf[0] = LEAF_PREFIX;
        buf[1..33].copy_from_slice(self.pre_state_hash.as_slice());
        buf[33..65].copy_from_slice(self.state_change_hash.as_slice());
        buf[65..97].copy_from_slice(self.transition_hash.as_slice());
        buf[97..129].copy_from_slice(self.previous_leaf_hash.as_slice());
        buf
    }

    /// The leaf hash.
    pub fn hash(&self) -> B256 {
        keccak256_uncached(self.preimage())
    }
}

/// Hash of an internal node: `keccak256(0x01 ‖ left ‖ right)`.
#[inline]
pub fn node_hash(left: &B256, right: &B256) -> B256 {
    keccak256_uncached(node_preimage(left, right))
}

/// The 65-byte preimage `0x01 ‖ left ‖ right`.
#[inline]
pub(crate) fn node_preimage(left: &B256, right: &B256) -> [u8; NODE_PREIMAGE_LEN] {
    let mut buf = [0u8; NODE_PREIMAGE_LEN];
    buf[0] = NODE_PREFIX;
    buf[1..33].copy_from_slice(left.as_slice());
    buf[33..65].copy_from_slice(right.as_slice());
    buf
}

/// Hash of an empty subtree of height `level` (`EMPTY_SUBTREE[0]` is 32 zero
/// bytes, `EMPTY_SUBTREE[h + 1] = node_hash(EMPTY_SUBTREE[h], EMPTY_SUBTREE[h])`).
///
/// `EMPTY_SUBTREE[0]` is also the root of the empty tree ([`EMPTY_ROOT`]).
pub const EMPTY_SUBTREE: [B256; 65] = [
    b256!("0000000000000000000000000000000000000000000000000000000000000000"),
    b256!("c07a1e8b7e0057673fdc2affe190d8a960c5fe615663f27b7ce84f3d93ef92a6"),
    b256!("fd47517474a597637d54038a0663d1d03b931b238de06b73e3c12cf443de6e8d"),
    b256!("47a8f5e8fa70be2760378067c9c6d410dd96be07820b4230c11254c7ff10c298"),
    b256!("aed19ca4bfe2365b1b33fa94744cd0c6a2d550506c7e7efc073879cb79459b9a"),
    b256!("6e6998a7da8b2db5c98eb853099d8caec63797b5283b7dac37b2ffb630a86e24"),
    b256!("181c19735bff23b55bc295fc0b60c1c5c7288209b261a08e26924598ce72404e"),
    b256!("ecb408b290ab2920e63611ef1e8ca964aebb66ea5739f19d24b92094f28e44f8"),
    b256!("294bf9785e1391d24d52abf915636a73bdaa12ed29e85e21dae14c09d0f2e34b"),
    b256!("cf7e37a934683edec795e3529db8fac0863519c2419ba24c0f6e4efa86ec7d1a"),
    b256!("72ce48cca9bc743fed84a0bdc00ad2c5b540323849c982f671a9bd8d52d15719"),
    b256!("0e2d7d0b695fdcd9dc6c54313ae652218375c3358d34ade3dcc49dda05c0db10"),
    b256!("a0a786a71d24007a23f5ce21e6997a305baeefaf348937a8b74974cb039c10c8"),
    b256!("0628cb6496193e6a55ece4a8240384e142273eeb9cc4bdae680f971fd1929f10"),
    b256!("2c3b833a3ca9d6f02055871655dd18f003a279f84a334bf6050899a9bc1cedc3"),
    b256!("1a6c5e9fd899efca64c2aca6243434b423d791f92a839c0c92ce0a5a51a07234"),
    b256!("a9942b0fabdf9bf32241f8245eb26737ffbd91822ac484ae857fc35d21fb652f"),
    b256!("7e4206a110a8721cc68455c35400b056251398dfcf98b04aeee19549bfd2122f"),
    b256!("bfb429bfebb3aa270012d8063896d205bfd8ce116e4a304335bd59e9471f9fcc"),
    b256!("e22fa8fff28cfb1f3664382ced6d3f1d634ef2851c10b1dce18c57c957985bf9"),
    b256!("d29bf231e30afb5cd1bc01d214e905c60c87533bf967a94877b3843bb0bdef5d"),
    b256!("146d57f70bcb580465116619359a35ece364f17e8d56524b5eee8bf6b8ebfdf6"),
    b256!("cdbc0759e847f96beb000c3cc51e30f8b2ccac5dcc5c409fea938a3345f8b603"),
    b256!("86e4b0792326c35995f1563b0d8f99fc38b0348a356e149c04b2783d5bd4cfb8"),
    b256!("45965170d4d5afdbc7dd54ef3beb044e3a61bdc1a96a4d31beaaee6b75a3f063"),
    b256!("b4603e46f0de988e62ff27b69f4d393a18f5ed31ea265fee69e73dc4eeddc902"),
    b256!("b394b29ffe4175348b892c892e0eee5e565c83ebbe247de17cd9bf999d75d2b7"),
    b256!("ad44e31db4754e01afbb20b8aceb34ce5ef195a9701a7115326091c4fedb5a44"),
    b256!("0bf2ca8aa236c35d3e7bd0ba97c8e772194462c90b5bb6caea4774e4100e95ef"),
    b256!("de0aa4f414066517b910862d802e616c418bf24150940c3b74b46e6a4e84b15a"),
    b256!("5368cf00e43190f04a959a2bfd87d648b02bb4494a00b755c1198da350e04cdb"),
    b256!("223c1c9f16dfa65bdc98bd2ff419b6f1c47596c3f1eed71c5a3d3c2a3c33f99b"),
    b256!("7c1d0e8a93ea9c09cc13b91ead8f72de66a33cb695c30934dc2d75bffac1248e"),
    b256!("84a5ab13be872cab2b2f255f8bf8c31afede9a2132358af739d6ff5b3d3aba8a"),
    b256!("7b70a898984258b3a577e2a4f6567485f24ade265b5dc9cdb0b6760717e15c96"),
    b256!("f97bd2266414b0c1cfd6865b52489a9dc155de0e4b3c2e33b893ea00297e2091"),
    b256!("928b8aede9f36ae1545d41045217da1a914002fe495eda4a346321ff72f7de75"),
    b256!("d6a170a7ceb2d7c532b3d67f384e917c93a833dd68901df8f111dd1ea4313109"),
    b256!("8a51e6a5d37f725795d995a22ba1ae9dc23bee4f8f5b280fa15a38fb31d68d99"),
    b256!("8e6bf8242229c66c52f0f0952a580ef685a054b75cd845d7e2314142e0773ac4"),
    b256!("823a8bcce6715a9244cc3a24e801f4a6d30ae32503eb017a568d015e75d1c44e"),
    b256!("44aa45fba237d98181d5904a354aece2cd758eea6d0c396f70e66ffd2b37fa0f"),
    b256!("7a20ea3311156ed3f2faf8fbfaf95aed7ac96bbf55ee12307d3759d6d5540436"),
    b256!("e54d294436d4b4213a699ad812fd463df375b3db025366939cb85bc2bf83ea50"),
    b256!("907a4ebf668a9886acf0997897267dd0c38121b79eb47d814c6a77654f303b21"),
    b256!("93850d0bf851fedbab104428ad96595970d66d89cf77e5b3af1a6d36c8a66cea"),
    b256!("798173e07e824386571518817f182661d2411a714fd068f734379ebcb561d6ab"),
    b256!("283b54354b6329e9b682abfcb5b049cb2643dd44d1993bab43387286cdeb5457"),
    b256!("59ebb3237689d0a5ec5019b17cd51ff8c43d39a9e28ccae606b6ca72ca7dbe9d"),
    b256!("93c04aaeb1ced359292d60725266b292bbcd35fb7bfb5cf31adf2599c280d4fa"),
    b256!("68ca70cb09d641dd321587099f4fc4621515403fb819e3e10bd2dd7ac99bed65"),
    b256!("3748729c1ed34445b3ac34c5820252e559fc807b0ad01b939fdc664da906e82f"),
    b256!("8c4b2526b9b2c8f40ef73b371f68516ded669c2f3865530305a6c966135112fb"),
    b256!("66502a834cbae36adaa931fa69cf3b871bb2cba0b7b19ef0b32a79749cebc5cc"),
    b256!("01e3bdddaeb8569387d3393006c7e76b2c1e19a6b34407fe02e84a8b268bd308"),
    b256!("40476d1e76e3113a51574783fa98fda4d502432fea341018d5750e298f40987d"),
    b256!("b8e648fd0d85f735d6ca1695744fe1dca29b3e1155602100709832ec77514320"),
    b256!("c0f826dce87e4334165b2eb337ae090ed4dcc5dfb3d28ced71d2803ca94da2e8"),
    b256!("6ce61a5a410096df66b1ae34e2d9353d860464391c9388720959243135ed5867"),
    b256!("a0de83ca5da5011f506c1d0aa7ef4658597046fc2788c8278414c66ddaaf8f5e"),
    b256!("fbd395a5fce08fa713e444271a888c316821a93dda9be4ab363e38c4aa00e9bf"),
    b256!("772aaacc6e04eed663748254af6b5786203c50864e1a795299e2c192f9fc9e1c"),
    b256!("fc61e5bbe91ee3842bb115181dc0c0384c4d1523669d4cc79f1b3ebeb03023a8"),
    b256!("503263743bfa5b3fd2f84236038b900617fb270f647e416f4dfbad721ce3dd82"),
    b256!("a82b408e2e0c2ad922f3092f9af18b07986707e1fa6fc1668b3fcc4b58db57af"),
];

/// Root of a tree with no leaves: `E[0]`, 32 zero bytes.
pub const EMPTY_ROOT: B256 = B256::ZERO;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_table_follows_its_definition() {
        assert_eq!(EMPTY_SUBTREE[0], B256::ZERO);
        for h in 0..64 {
            assert_eq!(
                EMPTY_SUBTREE[h + 1],
                node_hash(&EMPTY_SUBTREE[h], &EMPTY_SUBTREE[h]),
                "level {}",
                h + 1
            );
        }
    }

    #[test]
    fn leaf_preimage_layout() {
        let c = LeafComponents {
            pre_state_hash: B256::repeat_byte(1),
            state_change_hash: B256::repeat_byte(2),
            transition_hash: B256::repeat_byte(3),
            previous_leaf_hash: B256::repeat_byte(4),
        };
        let p = c.preimage();
        assert_eq!(p[0], 0);
        assert!(p[1..33].iter().all(|&b| b == 1));
        assert!(p[97..129].iter().all(|&b| b == 4));
        assert_eq!(c.hash(), alloy_primitives::keccak256(p));
    }
}
