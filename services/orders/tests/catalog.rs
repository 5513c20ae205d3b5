//! CatalogService (OR1) through gRPC on every backend: the category tree, products with
//! variants, search and filters, and what the catalog refuses.

use crate::common::*;
use rapport_proto::orders as pb;
use rapport_runtime::auth::Role;
use rapport_testkit::each_backend;
use tonic::Code;

async fn list_names(c: &mut Clients, filter: &str, order_by: &str) -> Vec<String> {
    c.catalog
        .list_products(pb::ListProductsRequest {
            filter: filter.into(),
            order_by: order_by.into(),
            ..Default::default()
        })
        .await
        .expect("list products")
        .into_inner()
        .products
        .into_iter()
        .map(|p| p.display_name)
        .collect()
}

#[tokio::test]
async fn categories_form_a_tree_without_loops() {
    each_backend(&services(), async |s| {
        let mut a = admin(s);
        let living = category(&mut a, "Living room", "").await;
        let sofas = category(&mut a, "Sofas", &living).await;
        let corner = category(&mut a, "Corner sofas", &sofas).await;
        category(&mut a, "Bedroom", "").await;

        let list = async |c: &mut Clients, parent: &str| -> Vec<String> {
            c.catalog
                .list_categories(pb::ListCategoriesRequest {
                    parent: parent.into(),
                    ..Default::default()
                })
                .await
                .expect("list categories")
                .into_inner()
                .categories
                .into_iter()
                .map(|c| c.display_name)
                .collect()
        };
        assert_eq!(list(&mut a, "-").await, ["Bedroom", "Living room"]);
        assert_eq!(list(&mut a, &living).await, ["Sofas"]);
        assert_eq!(list(&mut a, "").await.len(), 4);
        // Everyone of the tenant reads the catalog.
        let mut r = rep(s, "rep-1", "north");
        assert_eq!(list(&mut r, &sofas).await, ["Corner sofas"]);

        // Moving "Living room" under its own grandchild would close a loop.
        let current = a
            .catalog
            .get_category(pb::GetCategoryRequest {
                name: living.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        let looped = a
            .catalog
            .update_category(pb::UpdateCategoryRequest {
                category: Some(pb::Category {
                    name: living.clone(),
                    parent: corner.clone(),
                    ..Default::default()
                }),
                update_mask: mask(&["parent"]),
            })
            .await;
        let st = assert_code(looped, Code::InvalidArgument);
        assert_eq!(bad_fields(&st), ["category.parent"]);

        // A rename with the current etag works; the old etag is then stale.
        let renamed = a
            .catalog
            .update_category(pb::UpdateCategoryRequest {
                category: Some(pb::Category {
                    name: living.clone(),
                    display_name: "Lounge".into(),
                    etag: current.etag.clone(),
                    ..Default::default()
                }),
                update_mask: mask(&["display_name"]),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(renamed.display_name, "Lounge");
        assert_ne!(renamed.etag, current.etag);
        let stale = a
            .catalog
            .update_category(pb::UpdateCategoryRequest {
                category: Some(pb::Category {
                    name: living.clone(),
                    display_name: "Salon".into(),
                    etag: current.etag,
                    ..Default::default()
                }),
                update_mask: mask(&["display_name"]),
            })
            .await;
        assert_code(stale, Code::Aborted);
    })
    .await;
}

#[tokio::test]
async fn the_catalog_refuses_bad_input_strangers_and_readers_who_write() {
    each_backend(&services(), async |s| {
        let mut a = admin(s);
        let living = category(&mut a, "Living room", "").await;

        let bad = a
            .catalog
            .create_category(pb::CreateCategoryRequest {
                category: Some(pb::Category {
                    display_name: " ".into(),
                    parent: "categories/nope".into(),
                    description: "x".repeat(2001),
                    ..Default::default()
                }),
                request_id: "r".repeat(200),
            })
            .await;
        let st = assert_code(bad, Code::InvalidArgument);
        assert_eq!(
            sorted_bad_fields(&st),
            [
                "category.description",
                "category.display_name",
                "category.parent",
                "request_id"
            ]
        );

        let bad = a
            .catalog
            .create_product(pb::CreateProductRequest {
                product: Some(pb::Product {
                    display_name: String::new(),
                    category: String::new(),
                    status: 9,
                    attributes: [("Bad Key".to_owned(), "x".to_owned())].into(),
                    variants: vec![
                        pb::Variant {
                            sku: "has space".into(),
                            list_prices: vec![money("cny", -1).unwrap()],
                            ..Default::default()
                        },
                        variant("A-1", 100, 50),
                        variant("a-1", 100, 50),
                    ],
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await;
        let st = assert_code(bad, Code::InvalidArgument);
        assert_eq!(
            sorted_bad_fields(&st),
            [
                "product.attributes",
                "product.category",
                "product.display_name",
                "product.status",
                "product.variants",
                "product.variants[0].list_prices[0].currency_code",
                "product.variants[0].list_prices[0].minor_units",
                "product.variants[0].sku",
            ]
        );

        // A category that does not exist is named, not an internal error.
        let missing = a
            .catalog
            .create_product(pb::CreateProductRequest {
                product: Some(product(
                    "Sofa",
                    "categories/0190a0a0-0000-7000-8000-000000000000",
                    vec![variant("SOFA", 100, 50)],
                )),
                request_id: String::new(),
            })
            .await;
        let st = assert_code(missing, Code::InvalidArgument);
        assert_eq!(bad_fields(&st), ["product.category"]);

        let sofa = create_product(
            &mut a,
            product("Sofa", &living, vec![variant("SOFA", 100, 50)]),
        )
        .await;

        // Reps and marketers read the catalog but do not change it.
        let mut r = rep(s, "rep-1", "north");
        let denied = r
            .catalog
            .create_category(pb::CreateCategoryRequest {
                category: Some(pb::Category {
                    display_name: "Mine".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await;
        assert_code(denied, Code::PermissionDenied);
        let mut m = as_user(s, "mkt-1", &[Role::Marketer]);
        let read = m
            .catalog
            .get_product(pb::GetProductRequest {
                name: sofa.name.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(read, sofa);

        // Another tenant's products and categories do not exist for a stranger.
        let mut x = stranger(s);
        let hidden = x
            .catalog
            .get_product(pb::GetProductRequest {
                name: sofa.name.clone(),
            })
            .await;
        assert_code(hidden, Code::NotFound);
        let hidden = x
            .catalog
            .get_category(pb::GetCategoryRequest {
                name: living.clone(),
            })
            .await;
        assert_code(hidden, Code::NotFound);
        assert!(list_names(&mut x, "", "").await.is_empty());
        // A stranger's product may reuse the SKU: SKUs are unique per tenant.
        let theirs = category(&mut x, "Living room", "").await;
        create_product(
            &mut x,
            product("Sofa", &theirs, vec![variant("SOFA", 100, 50)]),
        )
        .await;

        let garbled = anonymous(s, Some("Bearer nope"))
            .catalog
            .get_product(pb::GetProductRequest { name: sofa.name })
            .await;
        assert_code(garbled, Code::Unauthenticated);
    })
    .await;
}

#[tokio::test]
async fn products_are_searched_filtered_and_their_skus_stay_unique() {
    each_backend(&services(), async |s| {
        let mut a = admin(s);
        let living = category(&mut a, "Living room", "").await;
        let bedroom = category(&mut a, "Bedroom", "").await;
        let mut sofa = product(
            "Nordic sofa",
            &living,
            vec![variant("SOFA-1", 899_900, 500_000)],
        );
        sofa.attributes = [
            ("style".to_owned(), "nordic".to_owned()),
            ("area_m2".to_owned(), "2.5".to_owned()),
        ]
        .into();
        let request = pb::CreateProductRequest {
            product: Some(sofa),
            request_id: "sofa-1".into(),
        };
        let first = a
            .catalog
            .create_product(request.clone())
            .await
            .unwrap()
            .into_inner();
        // A retried request id answers the first answer and creates nothing more.
        let again = a
            .catalog
            .create_product(request)
            .await
            .unwrap()
            .into_inner();
        assert_eq!(again, first);
        let mut bed = product(
            "Modern bed",
            &bedroom,
            vec![variant("BED-1", 499_900, 250_000)],
        );
        bed.attributes = [("style".to_owned(), "modern".to_owned())].into();
        create_product(&mut a, bed).await;
        create_product(
            &mut a,
            product(
                "Nordic lamp",
                &living,
                vec![variant("LAMP-1", 30_000, 10_000)],
            ),
        )
        .await;

        assert_eq!(
            list_names(&mut a, "", "").await,
            ["Modern bed", "Nordic lamp", "Nordic sofa"]
        );
        assert_eq!(
            list_names(&mut a, "display_name:nordic", "display_name desc").await,
            ["Nordic sofa", "Nordic lamp"]
        );
        assert_eq!(
            list_names(&mut a, &format!("category = \"{bedroom}\""), "").await,
            ["Modern bed"]
        );
        assert_eq!(
            list_names(&mut a, "attributes.style = \"nordic\"", "").await,
            ["Nordic sofa"]
        );
        // Attributes are text: a numeric comparison finds no text that merely looks numeric,
        // alike on every backend.
        assert!(
            list_names(&mut a, "attributes.area_m2 > 2", "")
                .await
                .is_empty()
        );
        assert_eq!(
            list_names(&mut a, "sku = \"lamp-1\"", "").await,
            ["Nordic lamp"]
        );
        let bad = a
            .catalog
            .list_products(pb::ListProductsRequest {
                filter: "price > 3".into(),
                order_by: "colour".into(),
                ..Default::default()
            })
            .await;
        let st = assert_code(bad, Code::InvalidArgument);
        assert_eq!(sorted_bad_fields(&st), ["filter", "order_by"]);

        // Pages follow one another without repeats.
        let page = a
            .catalog
            .list_products(pb::ListProductsRequest {
                page_size: 2,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(page.products.len(), 2);
        let rest = a
            .catalog
            .list_products(pb::ListProductsRequest {
                page_size: 2,
                page_token: page.next_page_token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(rest.products.len(), 1);
        assert_eq!(rest.products[0].display_name, "Nordic sofa");
        assert!(rest.next_page_token.is_empty());

        // Another product may not take a SKU in use, in any case.
        let taken = a
            .catalog
            .create_product(pb::CreateProductRequest {
                product: Some(product("Copy", &living, vec![variant("sofa-1", 1, 1)])),
                request_id: String::new(),
            })
            .await;
        let st = assert_code(taken, Code::InvalidArgument);
        assert_eq!(bad_fields(&st), ["product.variants"]);

        // One attribute changes by key; status and variants as a whole.
        let updated = a
            .catalog
            .update_product(pb::UpdateProductRequest {
                product: Some(pb::Product {
                    name: first.name.clone(),
                    attributes: [("colour".to_owned(), "grey".to_owned())].into(),
                    status: pb::ProductStatus::Discontinued.into(),
                    variants: vec![
                        variant("SOFA-1", 799_900, 500_000),
                        variant("SOFA-2", 999_900, 600_000),
                    ],
                    etag: first.etag.clone(),
                    ..Default::default()
                }),
                update_mask: mask(&["attributes.colour", "status", "variants"]),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(updated.attributes.len(), 3);
        assert_eq!(updated.attributes["colour"], "grey");
        assert_eq!(updated.status(), pb::ProductStatus::Discontinued);
        assert_eq!(updated.variants.len(), 2);
        assert_eq!(
            list_names(&mut a, "sku = \"SOFA-2\"", "").await,
            ["Nordic sofa"]
        );
        assert_eq!(
            list_names(&mut a, "status = DISCONTINUED", "").await,
            ["Nordic sofa"]
        );
        let stale = a
            .catalog
            .update_product(pb::UpdateProductRequest {
                product: Some(pb::Product {
                    name: first.name.clone(),
                    display_name: "Old".into(),
                    etag: first.etag,
                    ..Default::default()
                }),
                update_mask: mask(&["display_name"]),
            })
            .await;
        assert_code(stale, Code::Aborted);
        let bad_mask = a
            .catalog
            .update_product(pb::UpdateProductRequest {
                product: Some(pb::Product {
                    name: first.name,
                    ..Default::default()
                }),
                update_mask: mask(&["name", "etag", "price"]),
            })
            .await;
        let st = assert_code(bad_mask, Code::InvalidArgument);
        assert_eq!(
            bad_fields(&st),
            ["update_mask", "update_mask", "update_mask"]
        );
    })
    .await;
}

#[tokio::test]
async fn typed_attributes_are_checked_and_compared_as_their_type() {
    each_backend(&services(), async |s| {
        let mut a = admin(s);
        let def = |key: &str, t: pb::AttributeType, options: &[&str]| pb::AttributeDefinition {
            key: key.into(),
            display_name: key.replace('_', " "),
            r#type: t.into(),
            required: key == "style",
            options: options.iter().map(|o| (*o).to_owned()).collect(),
        };
        let set = |defs: Vec<pb::AttributeDefinition>| pb::UpdateOrderSettingsRequest {
            settings: Some(pb::OrderSettings {
                attribute_definitions: defs,
                ..Default::default()
            }),
            update_mask: mask(&["attribute_definitions"]),
        };
        let st = assert_code(
            a.orders
                .update_order_settings(set(vec![
                    def("Area", pb::AttributeType::Number, &[]),
                    def("style", pb::AttributeType::Enum, &[]),
                ]))
                .await,
            Code::InvalidArgument,
        );
        assert_eq!(
            sorted_bad_fields(&st),
            [
                "settings.attribute_definitions[0].key",
                "settings.attribute_definitions[1].options"
            ]
        );
        a.orders
            .update_order_settings(set(vec![
                def("area_m2", pb::AttributeType::Number, &[]),
                def("style", pb::AttributeType::Enum, &["nordic", "modern"]),
            ]))
            .await
            .expect("define attributes");

        let homes = category(&mut a, "Homes", "").await;
        let home = |name: &str, sku: &str, attrs: &[(&str, &str)]| {
            let mut p = product(name, &homes, vec![variant(sku, 100, 50)]);
            p.attributes = attrs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
            p
        };
        let bad = a
            .catalog
            .create_product(pb::CreateProductRequest {
                product: Some(home(
                    "Loft",
                    "LOFT",
                    &[("area_m2", "big"), ("style", "baroque")],
                )),
                request_id: String::new(),
            })
            .await;
        let st = assert_code(bad, Code::InvalidArgument);
        assert_eq!(
            sorted_bad_fields(&st),
            ["product.attributes.area_m2", "product.attributes.style"]
        );
        let missing = a
            .catalog
            .create_product(pb::CreateProductRequest {
                product: Some(home("Flat", "FLAT", &[("area_m2", "88")])),
                request_id: String::new(),
            })
            .await;
        assert_eq!(
            bad_fields(&assert_code(missing, Code::InvalidArgument)),
            ["product.attributes.style"]
        );
        let villa = create_product(
            &mut a,
            home(
                "Villa",
                "VILLA",
                &[("area_m2", "144.5"), ("style", "modern"), ("view", "lake")],
            ),
        )
        .await;
        assert_eq!(villa.attributes["area_m2"], "144.5");
        assert_eq!(
            villa.attributes["view"], "lake",
            "attributes without a definition are text"
        );
        create_product(
            &mut a,
            home("Flat", "FLAT", &[("area_m2", "88"), ("style", "nordic")]),
        )
        .await;
        assert_eq!(
            list_names(&mut a, "attributes.area_m2 > 90", "").await,
            ["Villa"]
        );
        assert_eq!(
            list_names(&mut a, "attributes.area_m2 <= 90", "").await,
            ["Flat"]
        );
        assert_eq!(
            list_names(&mut a, "attributes.style = nordic", "").await,
            ["Flat"]
        );
    })
    .await;
}
