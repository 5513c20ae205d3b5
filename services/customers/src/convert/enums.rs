//! The enums of a customer's profile: proto <-> domain.

use prost::UnknownEnumValue;
use rapport_proto::customers as pb;

use crate::domain::profile;

// Domain enums are named as their proto counterparts without UNSPECIFIED, so one table maps
// each both ways.
macro_rules! enum_conversions {
    ($from:ident, $to:ident, $name:ident, [$($variant:ident),+ $(,)?]) => {
        #[doc = concat!("The domain value of a proto `", stringify!($name), "`: `Ok(None)` for \
                         UNSPECIFIED, `Err` for a number the proto does not define.")]
        pub fn $from(value: i32) -> Result<Option<profile::$name>, UnknownEnumValue> {
            Ok(match pb::$name::try_from(value)? {
                pb::$name::Unspecified => None,
                $(pb::$name::$variant => Some(profile::$name::$variant),)+
            })
        }

        #[doc = concat!("The proto value of a domain `", stringify!($name), "`.")]
        pub fn $to(value: profile::$name) -> pb::$name {
            match value {
                $(profile::$name::$variant => pb::$name::$variant,)+
            }
        }
    };
}

enum_conversions!(
    customer_kind_from_proto,
    customer_kind_to_proto,
    CustomerKind,
    [Person, Organization]
);
enum_conversions!(
    phone_kind_from_proto,
    phone_kind_to_proto,
    PhoneKind,
    [Mobile, Home, Work, Other]
);
enum_conversions!(
    im_platform_from_proto,
    im_platform_to_proto,
    ImPlatform,
    [Wechat, Qq, Whatsapp, Line, Telegram, Other]
);
enum_conversions!(
    gender_from_proto,
    gender_to_proto,
    Gender,
    [Female, Male, Other]
);
enum_conversions!(
    income_band_from_proto,
    income_band_to_proto,
    IncomeBand,
    [Low, LowerMiddle, Middle, UpperMiddle, High]
);
enum_conversions!(
    education_from_proto,
    education_to_proto,
    Education,
    [Primary, Secondary, Vocational, Bachelor, Master, Doctorate]
);
enum_conversions!(
    marital_status_from_proto,
    marital_status_to_proto,
    MaritalStatus,
    [Single, Married, Divorced, Widowed]
);
enum_conversions!(
    risk_tolerance_from_proto,
    risk_tolerance_to_proto,
    RiskTolerance,
    [Low, Medium, High]
);
enum_conversions!(
    lifecycle_stage_from_proto,
    lifecycle_stage_to_proto,
    LifecycleStage,
    [Prospect, Customer, RepeatCustomer, Churned]
);
enum_conversions!(
    important_date_kind_from_proto,
    important_date_kind_to_proto,
    ImportantDateKind,
    [Anniversary, CustomerAnniversary, Custom]
);
