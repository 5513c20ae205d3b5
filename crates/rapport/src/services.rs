//! The services this binary can run, by name.

use rapport_runtime::context::ServiceEntry;

/// Every service, in start order.
pub fn all() -> Vec<ServiceEntry> {
    vec![
        ServiceEntry::of::<rapport_customers::Customers>(),
        ServiceEntry::of::<rapport_leads::Leads>(),
        ServiceEntry::of::<rapport_orders::Orders>(),
        ServiceEntry::of::<rapport_tickets::Tickets>(),
        ServiceEntry::of::<rapport_partners::Partners>(),
        ServiceEntry::of::<rapport_campaigns::Campaigns>(),
    ]
}

/// The entries named, or all when none is; unknown names are an error listing the known ones.
pub fn select(names: &[String]) -> Result<Vec<ServiceEntry>, String> {
    let all = all();
    if names.is_empty() {
        return Ok(all);
    }
    names
        .iter()
        .map(|n| {
            all.iter().find(|e| e.name == n).copied().ok_or_else(|| {
                let known: Vec<_> = all.iter().map(|e| e.name).collect();
                format!("unknown service {n:?}; known: {}", known.join(", "))
            })
        })
        .collect()
}
