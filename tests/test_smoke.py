def test_home_page_names_the_company(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"Cloud Stem" in response.data
