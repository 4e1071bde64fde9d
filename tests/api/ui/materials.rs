//! The materials page: uploads by drag and drop, previews, news drafts.

use serde_json::json;

use super::{
    assert_no_page_errors, browser, confirm, dialog_removed, fill, list, open, screenshot_path,
    sign_in, with_fake_wechat,
};

/// Drops a PNG drawn on a canvas (480×300) onto the upload dialog's drop zone,
/// as dragging a file from the desktop would.
const DROP_PNG: &str = "
    const canvas = document.createElement('canvas');
    canvas.width = 480; canvas.height = 300;
    const g = canvas.getContext('2d');
    const fill = g.createLinearGradient(0, 0, 480, 300);
    fill.addColorStop(0, '#07c160'); fill.addColorStop(1, '#2563eb');
    g.fillStyle = fill; g.fillRect(0, 0, 480, 300);
    g.fillStyle = '#fff'; g.font = 'bold 54px sans-serif'; g.fillText('SPRING SALE', 52, 170);
    return new Promise((resolve) => canvas.toBlob((blob) => {
      const file = new File([blob], arguments[0], { type: 'image/png' });
      const data = new DataTransfer();
      data.items.add(file);
      const zone = document.querySelector('dialog[open] [data-role=drop-zone]');
      for (const type of ['dragenter', 'dragover', 'drop']) {
        zone.dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true }));
      }
      resolve(blob.size);
    }, 'image/png'));
";

#[tokio::test]
async fn uploads_an_image_material_by_drag_and_drop_and_previews_it() {
    const APP_ID: &str = "wxuimedia0000001";
    let (app, fake) = with_fake_wechat(&[APP_ID]).await;
    let account = app.add_account(APP_ID).await;
    let b = browser().await;
    sign_in(&b, &app).await;
    open(&b, &app, "/wechat/wxmaterials").await;
    b.wait_for(".state-empty").await;
    b.click_css("[data-action=upload]").await;
    b.wait_for("dialog[open] [data-role=drop-zone]").await;

    // A file of the wrong kind is refused before anything is sent.
    b.js(
        "const data = new DataTransfer();
         data.items.add(new File(['hello'], 'notes.txt', { type: 'text/plain' }));
         document.querySelector('dialog[open] [data-role=drop-zone]').dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));",
        vec![],
    )
    .await;
    let refused = b.text("#upload-file-error").await;
    assert!(refused.contains("notes.txt must be a jpg"), "{refused}");

    let size = b.js(DROP_PNG, vec![json!("春节海报.png")]).await;
    assert!(size.as_i64().unwrap() > 1000, "{size}");
    // The chosen file shows before it is uploaded.
    b.wait_until(
        "document.querySelector('dialog[open] img.drop-preview') && document.querySelector('dialog[open] img.drop-preview').naturalWidth === 480",
        "the local preview of the dropped file",
    )
    .await;
    assert!(b
        .text("dialog[open] .drop-name")
        .await
        .contains("春节海报.png"));
    b.wait_gone("#upload-file-error").await;
    b.screenshot(&screenshot_path("material-upload")).await;
    b.click_css("dialog[open] [type=submit]").await;
    b.wait_gone("dialog[open]").await;

    // The new material's preview is the copy this server keeps.
    b.wait_until(
        "(() => { const img = document.querySelector('.material .file-preview[data-state=local] img'); return img && img.complete && img.naturalWidth === 480; })()",
        "the uploaded material's preview",
    )
    .await;
    let card = b.text(".material").await;
    assert!(
        card.contains("春节海报.png") && card.contains("480×300") && card.contains("On WeChat"),
        "{card}"
    );
    b.screenshot(&screenshot_path("materials-uploaded")).await;
    assert!(fake
        .recorded()
        .iter()
        .any(|r| r.path == "/cgi-bin/material/add_material"));
    let rows = list(
        &app,
        &format!("/wechat/wxmaterials/list?account_id={account}"),
    )
    .await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["is_permanent"], 1);
    assert!(rows[0]["media_id"]
        .as_str()
        .unwrap()
        .starts_with("MEDIA_IMAGE_"));
    assert!(rows[0]["local_path"]
        .as_str()
        .unwrap()
        .starts_with("uploads/"));

    // Deleting it on WeChat asks first, then marks the record.
    b.click_css(".material [data-action=delete-remote]").await;
    confirm(&b).await;
    b.wait_until(
        "document.querySelector('.material') && document.querySelector('.material').textContent.includes('Deleted on WeChat')",
        "the material marked as deleted on WeChat",
    )
    .await;
    assert!(fake
        .recorded()
        .iter()
        .any(|r| r.path == "/cgi-bin/material/del_material"));
    assert_no_page_errors(&b, "materials upload").await;
    b.quit().await;
}

#[tokio::test]
async fn creates_a_news_draft_from_the_dialog() {
    const APP_ID: &str = "wxuinews00000001";
    let (app, fake) = with_fake_wechat(&[APP_ID]).await;
    let account = app.add_account(APP_ID).await;
    app.seed(&account).material(json!({"media_type": "image", "media_id": "MEDIA_COVER_1", "name": "封面.jpg", "is_permanent": 1, "sync_status": 1}))
    .await;
    let b = browser().await;
    sign_in(&b, &app).await;
    open(&b, &app, "/wechat/wxmaterials").await;
    b.click_css("[data-action=new-news]").await;
    b.wait_for("dialog[open] [data-thumb=MEDIA_COVER_1]").await;

    // Nothing filled in: the fields say what is missing.
    b.click_css("dialog[open] [type=submit]").await;
    b.wait_for("dialog[open] [data-field=thumb_media_id].has-error .field-error")
        .await;
    assert!(
        b.find_all("dialog[open] [data-field=title].has-error")
            .await
            .len()
            == 1
    );

    fill(&b, "title", "春季新品上市").await;
    fill(&b, "author", "小编").await;
    fill(&b, "digest", "三款新品，限时尝鲜。").await;
    fill(&b, "content", "<p>春天来了 🌸</p>").await;
    fill(&b, "content_source_url", "https://example.com/spring").await;
    b.js(
        "document.querySelector('dialog[open] [data-thumb=MEDIA_COVER_1]').scrollIntoView({ block: 'center' })",
        vec![],
    )
    .await;
    b.click_css("dialog[open] [data-thumb=MEDIA_COVER_1]").await;
    b.screenshot(&screenshot_path("news-draft-dialog")).await;
    b.click_css("dialog[open] [type=submit]").await;
    dialog_removed(&b).await;
    b.wait_until(
        "[...document.querySelectorAll('.material')].some((m) => m.textContent.includes('春季新品上市'))",
        "the draft in the materials",
    )
    .await;
    let drafts: Vec<_> = fake
        .recorded()
        .into_iter()
        .filter(|r| r.path == "/cgi-bin/draft/add")
        .collect();
    assert_eq!(drafts.len(), 1);
    let rows = list(
        &app,
        &format!("/wechat/wxmaterials/list?account_id={account}&media_type=news"),
    )
    .await;
    assert_eq!(rows.len(), 1);
    let article = &rows[0]["news_items"][0];
    assert_eq!(article["title"], "春季新品上市");
    assert_eq!(article["author"], "小编");
    assert_eq!(article["thumb_media_id"], "MEDIA_COVER_1");
    assert_eq!(article["content_source_url"], "https://example.com/spring");
    b.screenshot(&screenshot_path("news-draft-created")).await;
    assert_no_page_errors(&b, "news draft").await;
    b.quit().await;
}
