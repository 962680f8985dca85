// Package cap speaks the OASIS Common Alerting Protocol 1.2 for tocsin: it
// writes alerts as CAP XML (Marshal), signs and verifies them with an
// enveloped XML Signature (Signer, Verify), reads CAP documents from partners
// without trusting them (Parse), and publishes the index feeds aggregators
// read: Atom (AtomFeed) and GeoJSON (GeoJSON).
//
// Parse checks everything the CAP 1.2 schema says (element order and
// cardinality, enumerations, dateTime forms) in Go, so the server needs no
// XML Schema validator at run time; the tests hold it to the verdict of
// xmllint on the schema in ../shared/standards/cap-1.2.xsd. The XML
// Signature work (canonicalization, digests, signature checks) is done by
// github.com/russellhaering/goxmldsig, and the tests check its output with
// xmlsec1, an implementation we did not write.
package cap
