//! The robot catalog: size, the spec's example robot, starters, skills, upgrade prices.

use std::collections::BTreeSet;

use serde_json::json;
use warroom::sim::battle::{upgrade_cost, UpgradeStat, MAX_UPGRADE_LEVEL};
use warroom::sim::catalog::{robot, skill, Biome, Element, Tier, ROBOTS, SKILLS};

#[test]
fn thirty_six_unique_robots() {
    assert_eq!(ROBOTS.len(), 36);
    let slugs: BTreeSet<_> = ROBOTS.iter().map(|r| r.slug).collect();
    assert_eq!(slugs.len(), 36);
    for e in Element::ALL {
        assert_eq!(ROBOTS.iter().filter(|r| r.element == *e).count(), 6, "{e}");
        assert!(
            ROBOTS.iter().any(|r| r.element == *e && r.is_starter),
            "{e} starter"
        );
    }
    for t in Tier::ALL {
        assert!(ROBOTS.iter().any(|r| r.tier == *t));
    }
}

#[test]
fn spec_robot_exactly() {
    let r = robot("volt-striker-mk1").unwrap();
    let mut v = serde_json::to_value(r).unwrap();
    let skills = v.as_object_mut().unwrap().remove("skills").unwrap();
    assert!(skills
        .as_array()
        .unwrap()
        .contains(&json!("overcharge_strike")));
    assert_eq!(
        v,
        json!({
          "slug": "volt-striker-mk1",
          "display_name": "Volt Striker Mk.I",
          "element": "VOLT",
          "tier": "T1",
          "base_hp": 80,
          "base_attack": 65,
          "base_defense": 40,
          "base_speed": 75,
          "base_energy": 10,
          "energy_regen": 3,
          "strong_vs": ["CRYO", "IRON"],
          "weak_vs": ["NANO"],
          "biome_bonus": { "CITY": 15, "GRASSLAND": 5 },
          "gmo_cost": 500,
          "is_starter": true,
          "sprite_atlas": "robots/volt/striker_mk1.json"
        })
    );
}

#[test]
fn skills_exist_and_names_parse() {
    assert!(skill("heal_burst").is_some() && skill("overcharge_strike").is_some());
    for r in ROBOTS.iter() {
        for s in r.skills {
            assert!(skill(s).is_some(), "{} has unknown skill {s}", r.slug);
        }
        for (b, _) in r.biome_bonus {
            assert!(Biome::ALL.contains(b));
        }
    }
    let ids: BTreeSet<_> = SKILLS.iter().map(|s| s.id).collect();
    assert_eq!(ids.len(), SKILLS.len());
    assert_eq!("CITY".parse::<Biome>().unwrap(), Biome::City);
    assert_eq!("VOLT".parse::<Element>().unwrap(), Element::Volt);
    assert_eq!("T3".parse::<Tier>().unwrap(), Tier::T3);
    assert!("city".parse::<Biome>().is_err());
}

#[test]
fn element_chart_is_symmetric() {
    // Every element has the same multiset of multipliers against the field.
    let profile = |e: Element| {
        let mut m: Vec<u32> = Element::ALL.iter().map(|d| e.multiplier_vs(*d)).collect();
        m.sort_unstable();
        m
    };
    for e in Element::ALL {
        assert_eq!(profile(*e), profile(Element::Volt));
        assert_eq!(e.strong_vs().len(), 2);
        assert_eq!(e.weak_vs().len(), 1);
    }
    assert_eq!(Element::Volt.multiplier_vs(Element::Cryo), 110);
    assert_eq!(Element::Volt.multiplier_vs(Element::Iron), 105);
    assert_eq!(Element::Volt.multiplier_vs(Element::Pyro), 100);
}

#[test]
fn upgrade_prices() {
    let r = robot("volt-striker-mk1").unwrap();
    assert_eq!(upgrade_cost(r, UpgradeStat::Attack, 1), 100);
    assert_eq!(upgrade_cost(r, UpgradeStat::Speed, MAX_UPGRADE_LEVEL), 500);
    assert_eq!(upgrade_cost(r, UpgradeStat::Hp, 0), i64::MAX);
    assert_eq!(
        upgrade_cost(r, UpgradeStat::Hp, MAX_UPGRADE_LEVEL + 1),
        i64::MAX
    );
}
