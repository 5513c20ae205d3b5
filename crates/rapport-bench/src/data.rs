//! Generated customers that look like a Chinese retailer's: mostly Chinese names with some
//! Latin ones, unique mobile numbers written the ways people write them, unique emails,
//! WeChat handles, tags, an address in a real city.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use rand::{Rng, SeedableRng, rngs::SmallRng, seq::IndexedRandom};
use rapport_proto::{customers as pb, types};

/// Family names with their pinyin.
const FAMILY: &[(&str, &str)] = &[
    ("王", "wang"),
    ("李", "li"),
    ("张", "zhang"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
    ("黄", "huang"),
    ("赵", "zhao"),
    ("吴", "wu"),
    ("周", "zhou"),
    ("徐", "xu"),
    ("孙", "sun"),
    ("马", "ma"),
    ("朱", "zhu"),
    ("胡", "hu"),
    ("郭", "guo"),
    ("何", "he"),
    ("林", "lin"),
    ("罗", "luo"),
    ("欧阳", "ouyang"),
];

/// Given names with their pinyin.
const GIVEN: &[(&str, &str)] = &[
    ("伟", "wei"),
    ("芳", "fang"),
    ("娜", "na"),
    ("敏", "min"),
    ("静", "jing"),
    ("丽", "li"),
    ("强", "qiang"),
    ("磊", "lei"),
    ("军", "jun"),
    ("洋", "yang"),
    ("勇", "yong"),
    ("艳", "yan"),
    ("杰", "jie"),
    ("涛", "tao"),
    ("明", "ming"),
    ("超", "chao"),
    ("秀英", "xiuying"),
    ("桂英", "guiying"),
    ("建华", "jianhua"),
    ("志强", "zhiqiang"),
    ("晓燕", "xiaoyan"),
    ("子涵", "zihan"),
    ("浩然", "haoran"),
    ("欣怡", "xinyi"),
];

const LATIN_GIVEN: &[&str] = &[
    "James", "Mary", "David", "Emma", "Lucas", "Sofia", "Daniel", "Olivia", "Kenji", "Aiko",
    "Minh", "Linh", "Arjun", "Priya", "Tom", "Anna",
];

const LATIN_FAMILY: &[&str] = &[
    "Smith", "Garcia", "Müller", "Nguyen", "Tanaka", "Kim", "Brown", "Rossi", "Silva", "Patel",
    "Wong", "Lee", "Dubois", "Novak",
];

const ORG_WORDS: &[&str] = &[
    "华创", "腾远", "新禾", "嘉信", "远航", "恒泰", "锦程", "博雅",
];
const ORG_KINDS: &[&str] = &["科技有限公司", "贸易有限公司", "家具店", "餐饮管理有限公司"];

/// (province, city, district, postal code)
const CITIES: &[(&str, &str, &str, &str)] = &[
    ("广东省", "深圳市", "南山区", "518000"),
    ("广东省", "广州市", "天河区", "510000"),
    ("北京市", "北京市", "朝阳区", "100020"),
    ("上海市", "上海市", "浦东新区", "200120"),
    ("浙江省", "杭州市", "西湖区", "310000"),
    ("四川省", "成都市", "武侯区", "610000"),
    ("江苏省", "南京市", "鼓楼区", "210000"),
    ("湖北省", "武汉市", "洪山区", "430000"),
    ("陕西省", "西安市", "雁塔区", "710000"),
    ("福建省", "厦门市", "思明区", "361000"),
];

const STREETS: &[&str] = &[
    "科技园路",
    "人民路",
    "解放大道",
    "中山路",
    "建设路",
    "长江路",
];

const DOMAINS: &[&str] = &[
    "qq.com",
    "163.com",
    "126.com",
    "sina.com",
    "gmail.com",
    "outlook.com",
    "example.com",
];

const TAGS: &[&str] = &[
    "VIP",
    "新客户",
    "老客户",
    "高意向",
    "展会",
    "回访",
    "团购",
    "企业客户",
    "母婴",
    "wechat-lead",
];

const CHANNELS: &[&str] = &[
    "store_walk_in",
    "web_form",
    "referral",
    "wechat",
    "phone_call",
    "trade_show",
];

const GRADES: &[&str] = &["A", "B", "C", "VIP"];

/// Mobile prefixes; every number under them is a valid Chinese mobile number.
const MOBILE_PREFIXES: &[&str] = &[
    "138", "139", "137", "136", "135", "186", "188", "187", "150", "151", "158", "159",
];

/// Odd and not a multiple of 5, so multiplying by it permutes 0..10^8: unique numbers that do
/// not look sequential.
const SCRAMBLE: u64 = 73_939_133;

/// Hands out customers whose phones, emails and handles are unique across every generator
/// cloned from the same one (one sequence per benchmark run).
#[derive(Clone)]
pub struct Generator {
    seq: Arc<AtomicU64>,
}

impl Generator {
    /// A new sequence.
    pub fn new() -> Self {
        Self {
            seq: Arc::new(AtomicU64::new(0)),
        }
    }

    /// A per-worker maker sharing this sequence, seeded by `seed`.
    pub fn maker(&self, seed: u64) -> Maker {
        Maker {
            seq: self.seq.clone(),
            rng: SmallRng::seed_from_u64(0x5eed_0000 ^ seed),
        }
    }
}

/// Makes customers for one worker.
pub struct Maker {
    seq: Arc<AtomicU64>,
    rng: SmallRng,
}

impl Maker {
    /// A new customer as a client would send it. `full` adds what imports carry beyond a
    /// quick create: tags and, for some, a WeChat handle.
    pub fn customer(&mut self, full: bool) -> pb::Customer {
        let seq = self.seq.fetch_add(1, Ordering::Relaxed);
        let rng = &mut self.rng;
        let mut c = pb::Customer {
            phones: vec![pb::Phone {
                number: phone(seq, rng),
                kind: pb::PhoneKind::Mobile.into(),
                ..Default::default()
            }],
            source_channel: (*pick(rng, CHANNELS)).to_owned(),
            owner_id: format!("rep-{}", rng.random_range(1..=50)),
            team_id: format!("team-{}", rng.random_range(1..=8)),
            lifecycle_stage: if rng.random_bool(0.6) {
                pb::LifecycleStage::Prospect
            } else {
                pb::LifecycleStage::Customer
            }
            .into(),
            grade: (*pick(rng, GRADES)).to_owned(),
            addresses: vec![address(rng)],
            ..Default::default()
        };
        let local = if rng.random_bool(0.1) {
            let name = format!(
                "{}{}{}",
                pick(rng, CITIES).1,
                pick(rng, ORG_WORDS),
                pick(rng, ORG_KINDS)
            );
            c.kind = pb::CustomerKind::Organization.into();
            c.organization_name = name.clone();
            c.display_name = name;
            "info".to_owned()
        } else {
            c.kind = pb::CustomerKind::Person.into();
            c.demographics = Some(pb::Demographics {
                gender: if rng.random_bool(0.5) {
                    pb::Gender::Female
                } else {
                    pb::Gender::Male
                }
                .into(),
                birth_date: Some(types::Date {
                    year: rng.random_range(1950..=2005),
                    month: rng.random_range(1..=12),
                    day: rng.random_range(1..=28),
                }),
                ..Default::default()
            });
            if rng.random_bool(0.75) {
                let (family, family_py) = *pick(rng, FAMILY);
                let (given, given_py) = *pick(rng, GIVEN);
                c.family_name = family.to_owned();
                c.given_name = given.to_owned();
                c.display_name = format!("{family}{given}");
                format!("{given_py}.{family_py}")
            } else {
                let given = *pick(rng, LATIN_GIVEN);
                let family = *pick(rng, LATIN_FAMILY);
                c.family_name = family.to_owned();
                c.given_name = given.to_owned();
                c.display_name = format!("{given} {family}");
                format!("{}.{}", given.to_lowercase(), ascii_lower(family))
            }
        };
        c.emails.push(pb::Email {
            address: format!("{local}.{seq:x}@{}", pick(rng, DOMAINS)),
            label: if rng.random_bool(0.5) { "work" } else { "" }.to_owned(),
        });
        if full {
            let n = rng.random_range(0..=3);
            let start = rng.random_range(0..TAGS.len());
            c.tags = (0..n)
                .map(|i| TAGS[(start + i) % TAGS.len()].to_owned())
                .collect();
            if rng.random_bool(0.3) {
                c.im_handles.push(pb::ImHandle {
                    platform: pb::ImPlatform::Wechat.into(),
                    handle: format!("wxid_{seq:x}"),
                });
            }
        }
        c
    }
}

fn pick<'a, T>(rng: &mut SmallRng, items: &'a [T]) -> &'a T {
    items.choose(rng).expect("non-empty table")
}

/// A mobile number unique to `seq`, written with or without +86 and spaces.
fn phone(seq: u64, rng: &mut SmallRng) -> String {
    let n = MOBILE_PREFIXES.len() as u64;
    let prefix = MOBILE_PREFIXES[(seq % n) as usize];
    let rest = (seq / n).wrapping_mul(SCRAMBLE) % 100_000_000;
    let digits = format!("{prefix}{rest:08}");
    match rng.random_range(0..4) {
        0 => format!("+86 {digits}"),
        1 => format!("{} {} {}", &digits[..3], &digits[3..7], &digits[7..]),
        _ => digits,
    }
}

fn address(rng: &mut SmallRng) -> pb::Address {
    let (province, city, district, postal) = *pick(rng, CITIES);
    pb::Address {
        label: "home".to_owned(),
        country_code: "CN".to_owned(),
        province: province.to_owned(),
        city: city.to_owned(),
        district: district.to_owned(),
        street: format!("{}{}号", pick(rng, STREETS), rng.random_range(1..=999)),
        postal_code: postal.to_owned(),
    }
}

fn ascii_lower(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'ü' => 'u',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_and_emails_are_unique() {
        let g = Generator::new();
        let mut a = g.maker(1);
        let mut b = g.maker(2);
        let mut phones = std::collections::HashSet::new();
        let mut emails = std::collections::HashSet::new();
        for i in 0..20_000 {
            let c = if i % 2 == 0 {
                a.customer(true)
            } else {
                b.customer(false)
            };
            let digits: String = c.phones[0]
                .number
                .chars()
                .filter(char::is_ascii_digit)
                .collect();
            let digits = digits.strip_prefix("86").unwrap_or(&digits).to_owned();
            assert_eq!(digits.len(), 11, "{}", c.phones[0].number);
            assert!(phones.insert(digits));
            assert!(emails.insert(c.emails[0].address.clone()));
        }
    }
}
