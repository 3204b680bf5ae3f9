//! Disclosure platforms and routing.

use dhub_schema::divisions::{self, Level};

/// One disclosure platform's feed, compiled from the `[[platform]]` config table.
#[derive(Debug, Clone)]
pub struct Platform {
    pub name: String,
    pub level: Level,
    /// GB/T 2260 code of the platform's area.
    pub division: String,
    /// Name of the redaction policy applied to this feed.
    pub policy: String,
    /// Envelope schema name, also sent as the `schema` header.
    pub format: String,
    /// `<prefix>disclosure.<level>.<division>`.
    pub topic: String,
}

impl Platform {
    /// The contract's topic name for a platform: `disclosure.<level>.<division>`, after the prefix.
    pub fn topic_name(prefix: &str, level: Level, division: &str) -> String {
        format!("{prefix}disclosure.{}.{division}", level.as_str())
    }

    /// Whether this platform's area contains an agency's division.
    pub fn covers(&self, agency_division: &str) -> bool {
        divisions::contains(&self.division, self.level, agency_division)
    }
}

/// The configured platforms, in config order.
#[derive(Debug, Clone, Default)]
pub struct Routing {
    platforms: Vec<Platform>,
}

impl Routing {
    pub fn new(platforms: Vec<Platform>) -> Routing {
        Routing { platforms }
    }

    pub fn platforms(&self) -> &[Platform] {
        &self.platforms
    }

    pub fn get(&self, name: &str) -> Option<&Platform> {
        self.platforms.iter().find(|p| p.name == name)
    }

    /// Every platform whose area contains the agency's division.
    pub fn route<'a>(
        &'a self,
        agency_division: &'a str,
    ) -> impl Iterator<Item = &'a Platform> + 'a {
        self.platforms
            .iter()
            .filter(move |p| p.covers(agency_division))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn platform(name: &str, level: Level, division: &str) -> Platform {
        Platform {
            name: name.into(),
            level,
            division: division.into(),
            policy: "public".into(),
            format: "disclosure.v1".into(),
            topic: Platform::topic_name("", level, division),
        }
    }

    fn demo() -> Routing {
        Routing::new(vec![
            platform("chiping-county", Level::County, "371523"),
            platform("donge-county", Level::County, "371524"),
            platform("liaocheng-city", Level::City, "371500"),
            platform("shandong-province", Level::Province, "370000"),
        ])
    }

    fn names(routing: &Routing, division: &str) -> Vec<String> {
        routing.route(division).map(|p| p.name.clone()).collect()
    }

    #[test]
    fn county_record_reaches_county_city_and_province() {
        assert_eq!(
            names(&demo(), "371523"),
            ["chiping-county", "liaocheng-city", "shandong-province"]
        );
    }

    #[test]
    fn city_agency_record_skips_the_counties() {
        assert_eq!(
            names(&demo(), "371500"),
            ["liaocheng-city", "shandong-province"]
        );
    }

    #[test]
    fn record_of_another_province_goes_nowhere() {
        assert!(names(&demo(), "110105").is_empty());
    }

    #[test]
    fn topic_names_follow_the_contract() {
        assert_eq!(
            Platform::topic_name("", Level::County, "371523"),
            "disclosure.county.371523"
        );
        assert_eq!(
            Platform::topic_name("test.", Level::Province, "370000"),
            "test.disclosure.province.370000"
        );
    }
}
