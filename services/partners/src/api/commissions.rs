//! CommissionService: the ledger, adjustments and statements.

use rapport_kit::{names, validate};
use rapport_proto::partners as pb;
use rapport_runtime::{Error, Result, error::both, storage::Idempotency, validation::Violations};
use tonic::Request;
use uuid::Uuid;

use super::support::{ADMINS, MANAGERS, READERS, authorize, page};
use crate::{
    app::{App, commissions},
    convert::commission::{self as convert, line_to_proto, statement_to_proto},
    domain::partner::PARTNERS,
    store::commissions::LineFilter,
};

const STATEMENTS: &str = "statements";
const PATTERN: &str = "partners/{partner}/statements/{statement}";

/// The (partner, statement) ids of a statement name.
fn parse_statement(name: &str) -> Result<(Uuid, Uuid), String> {
    names::parse_child_id(PARTNERS, STATEMENTS, name, PATTERN)
}

/// The (partner, statement) ids of a statement name given in `field`.
fn statement_ids(field: &str, name: &str) -> Result<(Uuid, Uuid)> {
    parse_statement(name).map_err(|e| Error::invalid(field, e))
}

pub(super) async fn lines(
    app: &App,
    req: Request<pb::ListCommissionLinesRequest>,
) -> Result<pb::ListCommissionLinesResponse> {
    let p = authorize(&req, READERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let partner = validate::id_in(PARTNERS, &msg.parent, "parent", &mut v);
    let kind = validate::optional_enum(
        &mut v,
        "kind",
        msg.kind,
        convert::kind,
        "CommissionLineKind",
    );
    let statement = if msg.statement.is_empty() {
        None
    } else {
        match parse_statement(&msg.statement) {
            Ok((owner, id)) if Some(owner) == partner => Some(id),
            Ok(_) => {
                v.add("statement", "is not a statement of the parent partner");
                None
            }
            Err(e) => {
                v.add("statement", e);
                None
            }
        }
    };
    let kind_key = msg.kind.to_string();
    let ((partner, kind, statement), page) = both(
        v.finish((partner, kind, statement)).map_err(Error::from),
        page(
            &p,
            &["commissionLines", &msg.parent, &kind_key, &msg.statement],
            msg.page_size,
            &msg.page_token,
        ),
    )?;
    let filter = LineFilter { kind, statement };
    let (rows, next_page_token) =
        commissions::lines(app, &p, partner.unwrap_or_default(), &filter, &page).await?;
    Ok(pb::ListCommissionLinesResponse {
        lines: rows.iter().map(line_to_proto).collect(),
        next_page_token,
    })
}

pub(super) async fn adjust(
    app: &App,
    req: Request<pb::CreateCommissionAdjustmentRequest>,
) -> Result<pb::CommissionLine> {
    let p = authorize(&req, MANAGERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let partner = validate::id_in(PARTNERS, &msg.parent, "parent", &mut v);
    let reason = validate::required_text(&mut v, "reason", &msg.reason, 500);
    let amount = match &msg.amount {
        None => {
            v.add("amount", "is required");
            None
        }
        Some(m) if m.minor_units == 0 => {
            v.add("amount.minor_units", "must not be zero");
            None
        }
        Some(m) if !validate::is_currency(&m.currency_code) => {
            v.add(
                "amount.currency_code",
                format!("{:?} is not an ISO 4217 code", m.currency_code),
            );
            None
        }
        Some(m) => Some((m.currency_code.clone(), m.minor_units)),
    };
    let (idem, (partner, amount)) = both(
        Idempotency::new(&p, "CreateCommissionAdjustment", &msg.request_id, msg),
        v.finish((partner, amount)).map_err(Error::from),
    )?;
    let (Some(partner), Some(amount)) = (partner, amount) else {
        return Err(Error::invalid("parent", "is required"));
    };
    commissions::adjust(app, p, idem, partner, amount, &reason).await
}

pub(super) async fn get_statement(
    app: &App,
    req: Request<pb::GetStatementRequest>,
) -> Result<pb::Statement> {
    let p = authorize(&req, READERS)?;
    let (partner, id) = statement_ids("name", &req.get_ref().name)?;
    Ok(statement_to_proto(
        &commissions::statement(app, &p, partner, id).await?,
    ))
}

pub(super) async fn list_statements(
    app: &App,
    req: Request<pb::ListStatementsRequest>,
) -> Result<pb::ListStatementsResponse> {
    let p = authorize(&req, READERS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let partner = validate::id_in(PARTNERS, &msg.parent, "parent", &mut v);
    let state = validate::optional_enum(
        &mut v,
        "state",
        msg.state,
        convert::statement_state,
        "StatementState",
    );
    let state_key = msg.state.to_string();
    let ((partner, state), page) = both(
        v.finish((partner, state)).map_err(Error::from),
        page(
            &p,
            &[STATEMENTS, &msg.parent, &state_key],
            msg.page_size,
            &msg.page_token,
        ),
    )?;
    let (rows, next_page_token) =
        commissions::statements(app, &p, partner.unwrap_or_default(), state, &page).await?;
    Ok(pb::ListStatementsResponse {
        statements: rows.iter().map(statement_to_proto).collect(),
        next_page_token,
    })
}

pub(super) async fn approve(
    app: &App,
    req: Request<pb::ApproveStatementRequest>,
) -> Result<pb::Statement> {
    let p = authorize(&req, MANAGERS)?;
    let msg = req.get_ref();
    let ids = statement_ids("name", &msg.name)?;
    commissions::approve(app, &p, ids, &msg.etag).await
}

pub(super) async fn pay(app: &App, req: Request<pb::PayStatementRequest>) -> Result<pb::Statement> {
    let p = authorize(&req, ADMINS)?;
    let msg = req.get_ref();
    let mut v = Violations::new();
    let ids = parse_statement(&msg.name)
        .map_err(|e| v.add("name", e))
        .ok();
    let reference =
        validate::required_text(&mut v, "payment_reference", &msg.payment_reference, 200);
    let ids = v.finish(ids)?.unwrap_or_default();
    commissions::pay(app, &p, ids, &msg.etag, &reference).await
}

pub(super) async fn export(
    app: &App,
    req: Request<pb::ExportStatementRequest>,
) -> Result<pb::ExportStatementResponse> {
    let p = authorize(&req, READERS)?;
    let (partner, id) = statement_ids("name", &req.get_ref().name)?;
    let (s, lines) = commissions::export(app, &p, partner, id).await?;
    convert::export(&s, &lines)
}
