//! Test files shipped with the crate: the reference implementation's vectors and GS1's examples.

use std::path::PathBuf;

use serde_json::Value;

/// The vectors of the reference implementation (RalphTro/epcis-event-hash-generator, MIT
/// licence in `tests/vectors/LICENSE`) that have a JSON-LD input: all 22 of them.
///
/// Not copied, because they exist only for XML input, which this crate does not read:
/// `SensorDataExamples`, `epcisDocHavingTooManyUserExtensions` (pre-hashes only, no hashes),
/// `epcisDocWith2DifferentTransformationEvents`, `epcisDocWithTransformationEventWithExtension`,
/// `epcisDocWithTransformationEventWithMultipleExtensions`,
/// `epcisXmlDocHavingEventWithIgnoreFields`, `epcisXmlQueryDocHavingEventWithIgnoreFields`.
pub const VECTORS: [&str; 22] = [
    "CertificationInfoAndSensorReportWithCRS",
    "ReferenceEventHashAlgorithm",
    "ReferenceEventHashAlgorithm2",
    "ReferenceEventHashAlgorithm3",
    "TimeStampRoundOff",
    "epcisDocHavingEventWithComment",
    "epcisDocHavingEventWithIgnoreFields",
    "epcisDocWithAllGS1Keys",
    "epcisDocWithCustomSchemaInContext",
    "epcisDocWithDefaultSchemaInContext",
    "epcisDocWithSensorComponent",
    "epcisDocWithSensorDataObjectEvent",
    "epcisDocWithShippingAndTransportingEvent",
    "epcisDocWithSingleEvent",
    "epcisDocWithVariousEventTypes",
    "epcisDocWithXMLstartTagAndErrorDeclaration",
    "epcisEventWithCURIEs",
    "epcisQueryDocHavingEventWithIgnoreFields",
    "epcisQueryDocument",
    "epclist_normalisation",
    "persistentDisposition",
    "ralfsChaosExample",
];

pub fn test_file(folder: &str, name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(folder)
        .join(name)
}

pub fn read_json(path: &PathBuf) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The non-empty lines of a vector file, or `None` if the vector has no such file.
pub fn read_lines(path: &PathBuf) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(
        text.lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
    )
}

/// The GS1 example documents (`tests/examples/`, GS1 licence beside them).
pub fn examples() -> Vec<(String, Value)> {
    let folder = test_file("examples", "");
    let mut names: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".jsonld"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let doc = read_json(&test_file("examples", &name));
            (name, doc)
        })
        .collect()
}
