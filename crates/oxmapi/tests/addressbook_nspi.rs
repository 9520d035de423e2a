//! The address book over the lab's NSPI endpoint: containers, the GAL, ANR searches and
//! CDO-style name resolution (one entry, ambiguous with candidates, not found, one-off).

mod write_support;

use oxmapi::Resolution;
use write_support::lab;

#[tokio::test]
async fn address_lists_have_the_gal() {
    let lab = lab().await;
    let mut s = lab.alice().await;
    let lists = s.address_lists().await.unwrap();
    assert!(!lists.is_empty());
    let gal = lists.iter().find(|l| l.container_id == 0).unwrap();
    assert_eq!(gal.name(), "Global Address List");
    assert!(!gal.entry_id.is_empty());
    s.logoff().await.unwrap();
}

#[tokio::test]
async fn gal_lists_every_user_sorted_by_display_name() {
    let lab = lab().await;
    let mut s = lab.alice().await;
    let gal = s.gal_entries().await.unwrap();
    let names: Vec<&str> = gal.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        ["Alice Example", "Bob Builder", "Jo Brown", "Jo Smith"]
    );
    let bob = &gal[1];
    assert_eq!(bob.address, lab.bob.legacy_dn);
    assert_eq!(bob.address_type, "EX");
    assert_eq!(bob.alias.as_deref(), Some("bob"));
    assert_eq!(bob.smtp_address.as_deref(), Some(lab.bob.smtp.as_str()));
    assert!(!bob.entry_id.is_empty() && !bob.is_one_off());
    s.logoff().await.unwrap();
}

#[tokio::test]
async fn resolve_names_with_cdo_semantics() {
    let lab = lab().await;
    let mut s = lab.alice().await;
    // Exactly one entry.
    let Resolution::Resolved(bob) = s.resolve_name("Bob Builder").await.unwrap() else {
        panic!("Bob Builder did not resolve");
    };
    assert_eq!(bob.address, lab.bob.legacy_dn);
    assert!(bob.mid.is_some());
    // By SMTP address and alias too.
    for n in [lab.bob.smtp.as_str(), "bob", "jsmith"] {
        assert!(
            matches!(s.resolve_name(n).await.unwrap(), Resolution::Resolved(_)),
            "{n}"
        );
    }
    // Two people called Jo.
    let Resolution::Ambiguous { candidates } = s.resolve_name("Jo").await.unwrap() else {
        panic!("Jo is ambiguous");
    };
    let mut names: Vec<String> = candidates.iter().map(|c| c.name.clone()).collect();
    names.sort();
    assert_eq!(names, ["Jo Brown", "Jo Smith"]);
    // Nobody.
    assert_eq!(
        s.resolve_name("nobody").await.unwrap(),
        Resolution::NotFound
    );
    // An Internet address outside the organization: a one-off SMTP recipient.
    let Resolution::Resolved(carol) = s
        .resolve_name("Carol Outside <carol@outside.example>")
        .await
        .unwrap()
    else {
        panic!("one-off");
    };
    assert!(carol.is_one_off());
    assert_eq!(carol.name, "Carol Outside");
    assert_eq!(carol.address_type, "SMTP");
    assert_eq!(carol.address, "carol@outside.example");
    s.logoff().await.unwrap();
}

#[tokio::test]
async fn anr_search_lists_candidates() {
    let lab = lab().await;
    let mut s = lab.alice().await;
    let found = s.find_address_entries("jo").await.unwrap();
    assert_eq!(found.len(), 2);
    assert!(
        found
            .iter()
            .all(|e| e.mid.is_some() && e.address.starts_with('/'))
    );
    assert!(s.find_address_entries("zzz").await.unwrap().is_empty());
    s.logoff().await.unwrap();
}
