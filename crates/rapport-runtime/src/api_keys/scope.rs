//! Which gRPC methods an API key may call. A scope is a full method name
//! (`rapport.partners.v1.RegistrationService/CreateRegistration`), every method of a service
//! (`rapport.partners.v1.RegistrationService/*`) or `*`; each must name a Rapport service or
//! method, so a typo is refused when the key is made instead of failing its calls later.

use std::{collections::BTreeSet, sync::LazyLock};

use prost::Message;

/// Every method of every Rapport service, `package.Service/Method`, and every service,
/// `package.Service`.
static KNOWN: LazyLock<(BTreeSet<String>, BTreeSet<String>)> = LazyLock::new(|| {
    let mut methods = BTreeSet::new();
    let mut services = BTreeSet::new();
    let set = prost_types::FileDescriptorSet::decode(rapport_proto::FILE_DESCRIPTOR_SET)
        .unwrap_or_default();
    for file in set
        .file
        .iter()
        .filter(|f| f.package().starts_with("rapport."))
    {
        for service in &file.service {
            let full = format!("{}.{}", file.package(), service.name());
            for m in &service.method {
                methods.insert(format!("{full}/{}", m.name()));
            }
            services.insert(full);
        }
    }
    (methods, services)
});

/// Every method.
pub const ALL: &str = "*";

/// Why `scope` is not one, or nothing.
pub fn check(scope: &str) -> Result<(), String> {
    let (methods, services) = &*KNOWN;
    if scope == ALL || methods.contains(scope) {
        return Ok(());
    }
    if let Some(service) = scope.strip_suffix("/*")
        && services.contains(service)
    {
        return Ok(());
    }
    Err(format!(
        "\"{}\" names no Rapport method; write \"package.Service/Method\", \"package.Service/*\" \
         or \"*\"",
        crate::error::cap(scope, 100)
    ))
}

/// Whether `scopes` let a key call the method of request path `path` (`/package.Service/Method`).
pub fn allows(scopes: &[String], path: &str) -> bool {
    let method = path.strip_prefix('/').unwrap_or(path);
    let service = method.rsplit_once('/').map(|(s, _)| s);
    scopes.iter().any(|s| {
        s == ALL
            || s == method
            || s.strip_suffix("/*")
                .is_some_and(|prefix| Some(prefix) == service)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CREATE: &str = "rapport.partners.v1.RegistrationService/CreateRegistration";

    fn scopes(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| (*x).to_owned()).collect()
    }

    #[test]
    fn scopes_name_methods_services_or_everything() {
        assert_eq!(check(CREATE), Ok(()));
        assert_eq!(check("rapport.partners.v1.RegistrationService/*"), Ok(()));
        assert_eq!(check("*"), Ok(()));
        for bad in [
            "",
            "rapport.partners.v1.RegistrationService/Nope",
            "rapport.partners.v1.Nope/*",
            "/rapport.partners.v1.RegistrationService/CreateRegistration",
            "rapport.partners.v1.*",
            "grpc.health.v1.Health/Check",
        ] {
            assert!(check(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_path_is_allowed_by_its_method_its_service_or_everything() {
        let path = format!("/{CREATE}");
        assert!(allows(&scopes(&[CREATE]), &path));
        assert!(allows(
            &scopes(&["rapport.partners.v1.RegistrationService/*"]),
            &path
        ));
        assert!(allows(&scopes(&["*"]), &path));
        assert!(!allows(
            &scopes(&["rapport.partners.v1.RegistrationService/GetRegistration"]),
            &path
        ));
        assert!(!allows(
            &scopes(&["rapport.partners.v1.PartnerService/*"]),
            &path
        ));
        // A service's scope does not reach a service whose name merely starts alike.
        assert!(!allows(
            &scopes(&["rapport.partners.v1.Registration/*"]),
            &path
        ));
        assert!(!allows(&[], &path));
    }
}
