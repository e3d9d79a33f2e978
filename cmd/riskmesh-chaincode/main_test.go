package main

import "testing"

func TestNewServerConfig(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	full := map[string]string{
		"CHAINCODE_ID":             "riskmesh_1:abc",
		"CHAINCODE_SERVER_ADDRESS": "127.0.0.1:9999",
		"RISKMESH_REGULATOR_MSPID": "RegulatorMSP",
	}
	s, err := newServer(env(full))
	if err != nil {
		t.Fatal(err)
	}
	if s.CCID != "riskmesh_1:abc" || s.Address != "127.0.0.1:9999" || !s.TLSProps.Disabled {
		t.Fatalf("server %+v", s)
	}
	for k := range full {
		t.Run("missing "+k, func(t *testing.T) {
			m := map[string]string{}
			for k2, v := range full {
				if k2 != k {
					m[k2] = v
				}
			}
			if _, err := newServer(env(m)); err == nil {
				t.Fatal("accepted a configuration without " + k)
			}
		})
	}
	bad := map[string]string{"CHAINCODE_ID": "x", "CHAINCODE_SERVER_ADDRESS": "y", "RISKMESH_REGULATOR_MSPID": "bad/msp"}
	if _, err := newServer(env(bad)); err == nil {
		t.Fatal("accepted an invalid regulator MSP id")
	}
	full["RISKMESH_GOVERNANCE_THRESHOLD"] = "2"
	if _, err := newServer(env(full)); err != nil {
		t.Fatalf("member governance genesis: %v", err)
	}
	full["RISKMESH_GOVERNANCE_THRESHOLD"] = "two"
	if _, err := newServer(env(full)); err == nil {
		t.Fatal("accepted a governance threshold that is not a number")
	}
}
